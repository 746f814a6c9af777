"""The bearer-token cache with Redis down and back: a token revoked while Redis was unreachable is refused
then (database path) and after Redis returns holding the entry from before (a new generation) — never
allowed from what the cache held. Real redis-servers, no mocks."""

import time

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from iam_project import cache as resilient
from tests.faults import RedisServer
from tests.perf.test_query_budgets import check, client_token
from tests.conftest import make_principal

pytestmark = pytest.mark.django_db


@pytest.fixture
def redis_cache(settings, tmp_path):
    resilient.reset_breakers()
    redis = RedisServer(tmp_path).start()
    original = settings.CACHES
    settings.CACHES = {**original, "default": {
        "BACKEND": "iam_project.cache.ResilientRedisCache", "LOCATION": redis.url, "KEY_PREFIX": "t",
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5, "BREAKER_SECONDS": 0.3,
                    "LOCAL_FALLBACK_PREFIXES": [settings.RATELIMIT_CACHE_PREFIX]}}}
    try:
        yield redis
    finally:
        redis.stop()
        settings.CACHES = original
        resilient.reset_breakers()


def test_a_token_revoked_while_redis_is_down_stays_refused_when_it_returns(redis_cache):
    subject = make_principal(permissions=["orders/items:read"])
    client, token = client_token()
    assert check(token, subject.iam_id).status_code == 200
    with CaptureQueriesContext(connection) as warm:
        assert check(token, subject.iam_id).status_code == 200
    assert len(warm) == 0  # served from Redis
    redis_cache.stop()
    from clients.revocation import revoke_tokens

    revoke_tokens(client, "test")  # its tombstone cannot reach Redis
    assert check(token, subject.iam_id).status_code == 401  # Redis down: the database answers
    redis_cache.start()  # the append-only file brings the token's old entry back
    time.sleep(0.4)
    assert check(token, subject.iam_id).status_code == 401
    assert cache.breaker.state == "closed"
