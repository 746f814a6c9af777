"""Two web processes, one cache: a token revoked, a client or a principal suspended through one gunicorn
process is refused on the very next request to the other, although both had it cached (warm path).

Runs where PostgreSQL and Redis are configured (the second pass of .ci/run); the servers are separate
processes on the test database, so the test commits (transaction=True).
"""

import base64
import os
import uuid

import pytest
import requests
from django.db import connection

from clients import services as client_services
from roles.models import RoleBinding
from tests.conftest import make_principal, make_role
from tests.e2e.test_ratelimit_processes import _database_url, _start

pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True), pytest.mark.postgres]


@pytest.fixture
def two_servers(tmp_path):
    if connection.vendor != "postgresql" or not os.environ.get("REDIS_URL"):
        pytest.skip("needs PostgreSQL and Redis (the second pass of .ci/run)")
    env = {**os.environ, "DATABASE_URL": _database_url(), "IAM_VAR_DIR": str(tmp_path / "var"),
           "DJANGO_SETTINGS_MODULE": "iam_project.settings", "DATABASE_CONN_MAX_AGE": "0",
           "IAM_RATELIMIT_CACHE_PREFIX": f"rl-test-{uuid.uuid4().hex}:"}
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
            except Exception:
                process.kill()


def _client(name, permissions, scopes):
    client = client_services.create_client(None, {"name": name, "grantTypes": ["client_credentials"],
                                                  "scopes": list(scopes)})
    RoleBinding.objects.create(client=client, role=make_role(permissions))
    _, secret = client_services.create_secret(None, client.pk)
    return client, secret


def _token(url, client, secret):
    auth = base64.b64encode(f"{client.client_id}:{secret}".encode()).decode()
    issued = requests.post(f"{url}/oauth/token/", data={"grant_type": "client_credentials"},
                           headers={"Authorization": f"Basic {auth}"}, timeout=10)
    assert issued.status_code == 200, issued.text
    return issued.json()["access_token"]


def _check(url, token, iam_id):
    return requests.post(f"{url}/resources/iam/authorize", json={"iamId": iam_id, "permission": "orders/items:read"},
                         headers={"Authorization": f"Bearer {token}"}, timeout=10)


def _warm(urls, token, iam_id):
    for url in urls:
        for _ in range(2):  # the first fills the cache, the second is served from it
            answer = _check(url, token, iam_id)
            assert answer.status_code == 200 and answer.json()["allowed"] is True, answer.text


def test_revocation_and_suspension_reach_the_other_process_at_once(two_servers):
    web_a, web_b = two_servers
    subject = make_principal(permissions=["orders/items:read"])
    checker, checker_secret = _client("checker", ["iam/authorize:read"], ["iam/authorize:read"])
    admin, admin_secret = _client("admin", ["*:*"], ["*:*"])  # holds all it manages (least privilege)
    admin_token = _token(web_a, admin, admin_secret)

    # 1. A token revoked at process A is refused by process B, which had it cached.
    token = _token(web_a, checker, checker_secret)
    _warm((web_a, web_b), token, subject.iam_id)
    auth = base64.b64encode(f"{checker.client_id}:{checker_secret}".encode()).decode()
    revoked = requests.post(f"{web_a}/oauth/revoke_token/", data={"token": token},
                            headers={"Authorization": f"Basic {auth}"}, timeout=10)
    assert revoked.status_code == 200, revoked.text
    assert _check(web_b, token, subject.iam_id).status_code == 401
    assert _check(web_a, token, subject.iam_id).status_code == 401

    # 2. A subject suspended through process A is no longer allowed by process B.
    token = _token(web_b, checker, checker_secret)
    _warm((web_a, web_b), token, subject.iam_id)
    suspended = requests.post(f"{web_a}/resources/iam/principals/{subject.pk}/suspend",
                              headers={"Authorization": f"Bearer {admin_token}"}, timeout=10)
    assert suspended.status_code == 200, suspended.text
    answer = _check(web_b, token, subject.iam_id)
    assert answer.status_code == 200 and answer.json()["allowed"] is False, answer.text
    assert "suspended" in answer.json()["reason"]

    # 3. The calling client suspended through process A: its cached token is refused by process B.
    other = make_principal(permissions=["orders/items:read"])
    _warm((web_a, web_b), token, other.iam_id)
    suspended = requests.post(f"{web_a}/resources/iam/clients/{checker.pk}/suspend",
                              headers={"Authorization": f"Bearer {admin_token}"}, timeout=10)
    assert suspended.status_code == 200, suspended.text
    assert _check(web_b, token, other.iam_id).status_code == 401
