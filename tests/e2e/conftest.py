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


@pytest.fixture(autouse=True)
def _close_http_sessions(monkeypatch):
    """Close every HTTP session a test opened, so that no kept-alive connection leaves a live-server
    thread waiting on its socket past the end of the test."""
    import requests

    opened = []
    original = requests.Session.__init__

    def tracking_init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        opened.append(self)

    monkeypatch.setattr(requests.Session, "__init__", tracking_init)
    yield
    for session in opened:
        session.close()
    import gc

    gc.collect()  # responses nobody read to the end still hold their connection until collected
