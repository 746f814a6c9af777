"""Two web processes share one count: wrong client secrets sent alternately to two gunicorn servers
on the same PostgreSQL and Redis reach the limit at the shared count, not at each process's own.

Runs where PostgreSQL and Redis are configured (the second pass of .ci/run); the servers are
separate processes on the test database, so the test commits (transaction=True).
"""

import base64
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests
from django.db import connection

from clients import services as client_services

pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True), pytest.mark.postgres]
ROOT = Path(__file__).resolve().parents[2]
FAILURES_PER_CLIENT = 4
REQUESTS_PER_IP = 14


def _database_url():
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _start(name, env, tmp_path):
    port = _free_port()
    log = tmp_path / f"{name}.log"
    with open(log, "w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "iam_project.wsgi:application", "--bind", f"127.0.0.1:{port}",
             "--workers", "1", "--threads", "2", "--graceful-timeout", "5"],
            cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, log.read_text()[-3000:]
        assert time.monotonic() < deadline, f"{name} did not start:\n" + log.read_text()[-3000:]
        try:
            if requests.get(f"{url}/healthz", timeout=2).status_code == 200:
                return process, url
        except (requests.ConnectionError, requests.Timeout):  # bound, but the worker still loading the app
            pass
        time.sleep(0.2)


@pytest.fixture
def two_servers(tmp_path):
    if connection.vendor != "postgresql" or not os.environ.get("REDIS_URL"):
        pytest.skip("needs PostgreSQL and Redis (the second pass of .ci/run)")
    env = {**os.environ, "DATABASE_URL": _database_url(), "IAM_VAR_DIR": str(tmp_path / "var"),
           "DJANGO_SETTINGS_MODULE": "iam_project.settings", "DATABASE_CONN_MAX_AGE": "0",
           # a fresh prefix: counts of earlier runs in the same Redis never leak in
           "IAM_RATELIMIT_CACHE_PREFIX": f"rl-test-{uuid.uuid4().hex}:",
           # day-long windows: the test never runs across a window's edge
           "IAM_RATELIMIT_FAILURES_PER_CREDENTIAL": f"{FAILURES_PER_CLIENT}/1d",
           "IAM_RATELIMIT_FAILURES_PER_IP": "1000/1d",
           "IAM_RATELIMIT_CREDENTIAL_REQUESTS_PER_IP": f"{REQUESTS_PER_IP}/1d"}
    started = []
    try:
        for name in ("web-a", "web-b"):  # one after the other: the first makes var/'s keys
            started.append(_start(name, env, tmp_path))
        yield [url for _, url in started]
    finally:
        for process, _ in started:
            process.terminate()
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()


def _token(url, client_id, secret):
    auth = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return requests.post(f"{url}/oauth/token/", data={"grant_type": "client_credentials"},
                         headers={"Authorization": f"Basic {auth}"}, timeout=10)


def _make_client(name):
    client = client_services.create_client(None, {"name": name, "grantTypes": ["client_credentials"],
                                                  "scopes": ["iam/principals:read"]})
    _, secret = client_services.create_secret(None, client.pk)
    return client, secret


def test_two_processes_refuse_at_the_shared_count(two_servers):
    web_a, web_b = two_servers
    victim, secret = _make_client("victim")
    # Alternating: each process sees only half of the wrong secrets.
    for index in range(FAILURES_PER_CLIENT):
        response = _token((web_a, web_b)[index % 2], victim.client_id, f"guess-{index}")
        assert response.status_code == 401 and response.json()["error"] == "invalid_client"
    for url in (web_a, web_b):
        refused = _token(url, victim.client_id, secret)  # even the right secret waits
        assert refused.status_code == 429, refused.text
        assert refused.json()["error"] == "temporarily_unavailable" and int(refused.headers["Retry-After"]) > 0

    # The flood limit per IP is shared too: every request so far counted, on either process.
    spent = FAILURES_PER_CLIENT + 2
    busy, busy_secret = _make_client("busy")
    for index in range(REQUESTS_PER_IP - spent):
        response = _token((web_a, web_b)[index % 2], busy.client_id, busy_secret)
        assert response.status_code == 200, response.text
    for url in (web_a, web_b):
        flooded = _token(url, busy.client_id, busy_secret)
        assert flooded.status_code == 429 and int(flooded.headers["Retry-After"]) > 0
