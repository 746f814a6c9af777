"""Live-server tests: the server's request threads close their database connection after each
request, so that a kept-alive HTTP connection never holds a session past the test database."""

import pytest
from django.db import connections


@pytest.fixture(autouse=True)
def _no_persistent_connections():
    settings_dict = connections.settings["default"]
    before = settings_dict.get("CONN_MAX_AGE", 0)
    settings_dict["CONN_MAX_AGE"] = 0
    yield
    settings_dict["CONN_MAX_AGE"] = before
