"""Redis stopped in the middle: a gunicorn server on the test's PostgreSQL and a redis-server of its own keeps
answering the check API, the lists and the console sign-in (slower, from the database), /readyz says Redis is
down; Redis started again: /readyz is ready, and a binding removed during the outage is not granted.

The Redis keeps its data across the stop (append-only file), as a production one does: after the outage it
still holds the grants compiled before it. Runs in .ci/run's PostgreSQL + Redis pass, skipped elsewhere.
"""

import os
import re
import time
import uuid

import pytest
import requests
from django.db import connection

from tests.conftest import make_principal
from tests.faults import RedisServer, database_url, sign_in, start_gunicorn, stop_process

pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True), pytest.mark.postgres]
PASSWORD = "Outage-proof-passphrase-16"
BREAKER_SECONDS = 1


@pytest.fixture
def stack(tmp_path):
    if connection.vendor != "postgresql" or not os.environ.get("REDIS_URL"):
        pytest.skip("needs PostgreSQL and Redis (the second pass of .ci/run)")
    (tmp_path / "redis").mkdir()
    redis = RedisServer(tmp_path / "redis").start()
    env = {**os.environ, "DATABASE_URL": database_url(), "REDIS_URL": redis.url, "IAM_VAR_DIR": str(tmp_path / "var"),
           "DJANGO_SETTINGS_MODULE": "iam_project.settings", "DATABASE_CONN_MAX_AGE": "0",
           "IAM_CACHE_BREAKER_SECONDS": str(BREAKER_SECONDS), "IAM_RATELIMIT_CACHE_PREFIX": f"rl-{uuid.uuid4().hex}:"}
    process, url = start_gunicorn(env, tmp_path / "web.log")
    try:
        yield redis, url
    finally:
        stop_process(process)
        redis.stop()


def _breaker_open(url):
    text = requests.get(f"{url}/metrics", timeout=5).text
    values = re.findall(r"^portcullis_cache_breaker_open\{[^}]*\} (\S+)$", text, re.M)
    return bool(values) and float(values[0]) == 1.0


def _fallbacks(url):
    text = requests.get(f"{url}/metrics", timeout=5).text
    return sum(float(v) for v in re.findall(r"^portcullis_cache_fallbacks_total\{[^}]*\} (\S+)$", text, re.M))


def test_redis_stopped_in_the_middle_costs_speed_not_answers(stack, settings):
    redis, url = stack
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]  # what the server checks
    operator = make_principal(email="operator@example.com", roles=["system:owner"], password=PASSWORD)
    subject = make_principal(permissions=["orders/items:read"])
    console = sign_in(url, operator.email, PASSWORD)

    def granted():
        started = time.monotonic()
        response = console.post(f"{url}/resources/iam/authorize", timeout=10,
                                json={"iamId": subject.iam_id, "permission": "orders/items:read"})
        assert response.status_code == 200, response.text
        assert time.monotonic() - started < 3  # slower at worst, never hanging on the dead Redis
        return response.json()["allowed"]

    assert granted() is True  # compiled, and kept in Redis
    assert requests.get(f"{url}/readyz", timeout=10).status_code == 200

    redis.stop()
    assert granted() is True  # from the database now
    assert _breaker_open(url)
    listed = console.get(f"{url}/resources/iam/principals", timeout=10)
    assert listed.status_code == 200 and any(p["email"] == subject.email for p in listed.json()["results"])
    again = sign_in(url, operator.email, PASSWORD)  # the console's sign-in (sessions live in the database)
    assert again.get(f"{url}/admin/", timeout=10).status_code == 200
    ready = requests.get(f"{url}/readyz", timeout=10)
    assert ready.status_code == 503
    components = ready.json()["components"]
    assert components["redis"]["status"] == "down" and components["broker"]["status"] == "down"
    assert components["database"]["status"] == "ok"
    assert requests.get(f"{url}/healthz", timeout=10).status_code == 200

    # the binding ends while Redis is down: its invalidation cannot reach Redis
    removed = console.put(f"{url}/resources/iam/principals/{subject.pk}/roles", json={"roles": []}, timeout=10)
    assert removed.status_code == 200, removed.text
    assert granted() is False
    assert _fallbacks(url) > 0

    redis.start()  # holding the grants compiled before the outage
    deadline = time.monotonic() + 20
    while requests.get(f"{url}/readyz", timeout=10).status_code != 200:
        assert time.monotonic() < deadline, "not ready after Redis came back"
        time.sleep(0.2)
    deadline = time.monotonic() + 10
    while _breaker_open(url):  # the next cache operation after the breaker's period probes and closes it
        assert granted() is False
        assert time.monotonic() < deadline, "the breaker did not close"
        time.sleep(0.2)
    for _ in range(3):  # served from Redis again: the entry from before the outage is not used
        assert granted() is False
