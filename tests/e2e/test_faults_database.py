"""PostgreSQL stopped under a running gunicorn: every face answers 503 with Retry-After in its own shape (never a
500 page), /healthz stays alive and /readyz names the database; PostgreSQL started again: the same server, never
restarted, serves again — its persistent connections are checked and replaced (CONN_HEALTH_CHECKS).

The cluster is a throw-away one of the test's own (initdb/pg_ctl as the postgres user, as .ci/run does), so
stopping it disturbs no other test. Runs in .ci/run's PostgreSQL pass; skipped elsewhere, and where the server
binaries or the postgres user are missing.
"""

import base64
import os
import subprocess
import sys
import time

import pytest
import requests
from django.db import connection

from tests.faults import ROOT, PostgresCluster, sign_in, start_gunicorn, stop_process

pytestmark = pytest.mark.postgres
EMAIL = "operator@example.com"
PASSWORD = "Outage-proof-passphrase-16"


@pytest.fixture
def stack(tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (the second pass of .ci/run)")
    cluster = PostgresCluster()
    process = None
    try:
        cluster.start()
        cluster.create_database()
        # persistent connections (the production default): they must survive the restart by themselves
        env = {**os.environ, "DATABASE_URL": cluster.url, "IAM_VAR_DIR": str(tmp_path / "var"),
               "DJANGO_SETTINGS_MODULE": "iam_project.settings", "DATABASE_CONN_MAX_AGE": "600",
               "IAM_DATABASE_RETRY_AFTER": "3", "IAM_BOOTSTRAP_EMAIL": EMAIL, "IAM_BOOTSTRAP_PASSWORD": PASSWORD}
        for command in (["migrate", "--no-input"], ["bootstrap"]):
            subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True,
                           stdout=subprocess.DEVNULL, timeout=300)
        process, url = start_gunicorn(env, tmp_path / "web.log", threads=2)
        yield cluster, url
    finally:
        if process is not None:
            stop_process(process)
        cluster.remove()


def _assert_503(response):
    assert response.status_code == 503, (response.status_code, response.text[:500])
    assert response.headers["Retry-After"] == "3" and response.headers["X-Request-ID"]
    assert "Traceback" not in response.text


def test_postgresql_stopped_and_started_503_then_recovery_without_restart(stack):
    cluster, url = stack
    console = sign_in(url, EMAIL, PASSWORD)
    assert console.get(f"{url}/resources/me", timeout=10).status_code == 200  # a connection is kept open
    assert console.get(f"{url}/admin/", timeout=10).status_code == 200

    cluster.stop()
    api = console.get(f"{url}/resources/me", timeout=10)
    _assert_503(api)
    assert api.headers["Content-Type"] == "application/problem+json" and api.json()["status"] == 503
    basic = "Basic " + base64.b64encode(b"some-client:some-secret").decode()
    oauth = requests.post(f"{url}/oauth/token/", data={"grant_type": "client_credentials"},
                          headers={"Authorization": basic}, timeout=10)
    _assert_503(oauth)
    assert oauth.json()["error"] == "temporarily_unavailable"
    ibm = requests.post(f"{url}/identity/token", timeout=10,
                        data={"grant_type": "urn:ibm:params:oauth:grant-type:apikey", "apikey": "pak_" + "x" * 40})
    _assert_503(ibm)
    assert ibm.json()["status_code"] == 503 and ibm.json()["errorCode"] == "service_unavailable"
    page = console.get(f"{url}/admin/", timeout=10)
    _assert_503(page)
    assert page.headers["Content-Type"].startswith("text/html") and "503 Service unavailable" in page.text
    assert requests.get(f"{url}/healthz", timeout=10).status_code == 200
    ready = requests.get(f"{url}/readyz", timeout=15)
    assert ready.status_code == 503 and ready.json()["components"]["database"]["status"] == "down"

    cluster.start()
    deadline = time.monotonic() + 30
    while (answer := console.get(f"{url}/resources/me", timeout=10)).status_code != 200:
        _assert_503(answer)  # until the server accepts connections again: 503, never a 500
        assert time.monotonic() < deadline, "the API did not recover"
        time.sleep(0.3)
    assert answer.json()["email"] == EMAIL  # the same session: nothing was lost
    assert console.get(f"{url}/admin/", timeout=10).status_code == 200
    assert requests.get(f"{url}/readyz", timeout=15).status_code == 200
