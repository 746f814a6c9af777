"""The production settings plus one reference view: what the issue's ratios are measured against.

bench/load.py serves the platform with these settings so that, beside the bare ``/healthz``, it can drive
``/bench/select1`` — a Django view through the same middleware doing one ``SELECT 1`` on the same
persistent connection (the issue's "/healthz", a view that reaches the database). Nothing here changes
how any other request is served; the reference exists only in the benchmark's server.
"""

from iam_project.settings import *  # noqa: F403

ROOT_URLCONF = "reference_urls"
