"""Findings of the review of the fourth round (the rate-limit count and the subject read with the bearer token's
read, the token asked about read with introspection's caller), each kept as a regression test on a real
redis-server."""

import pytest
import redis as redis_py
from django.core.cache import cache
from django.test import Client as HttpClient
from oauth2_provider.models import get_access_token_model

from clients import services as client_services
from iam_project import authcache, ratelimit
from iam_project.cache import request_scope
from tests.clients.test_introspection_caller_cache import introspect, resource_server
from tests.conftest import make_principal
from tests.perf.test_authcache_outage import redis_cache  # noqa: F401 (fixture)
from tests.perf.test_query_budgets import check, client_token

pytestmark = pytest.mark.django_db


def _count(iam_id):
    key, *_ = ratelimit._count_key("api-identity", iam_id, ratelimit.rate("API_REQUESTS_PER_IDENTITY"))
    return int(cache.get(key) or 0)


def test_a_warm_check_still_answers_when_redis_refuses_writes(redis_cache):  # noqa: F811
    # Read-only after a failover, MISCONF after a failed save, OOM under noeviction: reads work, the count
    # script does not. The count then falls back to the throttle's own (as before the count was made ahead).
    subject = make_principal(permissions=["orders/items:read"])
    _, token = client_token()
    for _ in range(3):
        assert check(token, subject.iam_id).json()["allowed"] is True
    raw = redis_py.Redis.from_url(redis_cache.url)
    raw.config_set("min-replicas-to-write", 1)  # every write and script refused: NOREPLICAS
    try:
        answer = HttpClient(raise_request_exception=False).post(
            "/resources/iam/authorize", {"iamId": subject.iam_id, "permission": "orders/items:read"},
            content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}")
        assert answer.status_code == 200 and answer.json()["allowed"] is True
    finally:
        raw.config_set("min-replicas-to-write", 0)


def test_a_tombstone_written_after_the_database_read_is_never_overwritten_by_a_fill(redis_cache, monkeypatch):  # noqa: F811
    # After a Redis recovery every entry is of an older generation, so a fill replaces it (set, not add). The
    # fill must decide from Redis as it is after the database read — not from what the request read ahead —
    # or a revocation made by another process in between would be undone for every process.
    _, asked = client_token()
    caller, secret = resource_server()
    for _ in range(3):
        assert introspect(asked, caller, secret).json()["active"] is True
    authcache.forget_all_after_outage(cache)
    checksum = authcache.checksum_of(asked)
    token_key = f"iam:auth:tok:{checksum}"
    original = authcache.remember_token

    def revoked_by_another_process_first(value, token):
        get_access_token_model().objects.filter(token_checksum=checksum)._raw_delete("default")
        cache.set(token_key, authcache.TOMBSTONE, 3600)
        return original(value, token)

    monkeypatch.setattr(authcache, "remember_token", revoked_by_another_process_first)
    introspect(asked, caller, secret)  # the database path, which read the row while it was live
    monkeypatch.setattr(authcache, "remember_token", original)
    assert cache.get(token_key) == authcache.TOMBSTONE
    assert introspect(asked, caller, secret).json() == {"active": False}
    subject = make_principal(permissions=["orders/items:read"])
    assert check(asked, subject.iam_id).status_code == 401


def test_a_revoked_token_in_flight_never_holds_its_identitys_allowance(redis_cache, settings):  # noqa: F811
    # The count made ahead for a token then found revoked is given back before the request goes on, not at its
    # end: the identity's own request made meanwhile is within its limit.
    settings.IAM_RATE_LIMITS = {**settings.IAM_RATE_LIMITS, "API_REQUESTS_PER_IDENTITY": "4/m"}
    subject = make_principal(permissions=["orders/items:read"])
    client, stolen = client_token()
    _, secret = client_services.create_secret(None, client.pk)
    live = HttpClient().post("/oauth/token/", {"grant_type": "client_credentials", "client_id": client.client_id,
                                               "client_secret": secret, "scope": "iam/authorize:read"}
                             ).json()["access_token"]
    assert check(stolen, subject.iam_id).status_code == 200
    assert check(stolen, subject.iam_id).status_code == 200  # this process now knows whose token it is
    get_access_token_model().objects.filter(token_checksum=authcache.checksum_of(stolen)).delete()
    assert check(live, subject.iam_id).status_code == 200
    with request_scope():  # the replayed revoked token's request, still in flight
        assert authcache.cached_token(stolen, count=True) is None
        assert _count(client.iam_id) == 3
        assert check(live, subject.iam_id).status_code == 200  # the identity's 4th request of its 4/m
    assert _count(client.iam_id) == 4


def test_a_made_up_bearer_value_does_not_bring_the_named_subject_along(redis_cache):  # noqa: F811
    subject = make_principal(permissions=["orders/items:read"])
    assert authcache.cached_identity(subject.iam_id) is not None  # its snapshot is cached
    sent = []
    original = redis_py.client.Redis.mget

    def counted(self, keys, *args):
        sent.extend(keys if isinstance(keys, list) else [keys, *args])
        return original(self, keys, *args)

    redis_py.client.Redis.mget = counted
    try:
        answer = HttpClient().post("/resources/iam/authorize", {"iamId": subject.iam_id, "permission": "a/b:read"},
                                   content_type="application/json", HTTP_AUTHORIZATION="Bearer made-up")
    finally:
        redis_py.client.Redis.mget = original
    assert answer.status_code == 401
    assert not any(subject.iam_id in str(key) for key in sent), sent


def test_a_fill_over_an_older_generation_never_overwrites_a_tombstone_written_since(redis_cache):  # noqa: F811
    # After a Redis recovery entries are of an older generation and a fill replaces them. A revocation's tombstone
    # written between the fill's read and its write must stay: the replacement is one atomic script.
    key = "iam:auth:tok:" + "0" * 64
    stale = ("old-generation", {"id": 1})
    cache.set(key, stale, 60)
    authcache._fill(key, "new-generation", {"id": 1}, stale, 60)  # nothing written since: replaced
    assert cache.get(key) == ("new-generation", {"id": 1})
    cache.set(key, stale, 60)
    existing = cache.get(key)  # the fill's read ...
    cache.set(key, authcache.TOMBSTONE, 60)  # ... then another process revokes ...
    authcache._fill(key, "new-generation", {"id": 1}, existing, 60)  # ... then the fill's write
    assert cache.get(key) == authcache.TOMBSTONE
    assert 0 < redis_py.Redis.from_url(redis_cache.url).ttl(cache.make_key(key)) <= 60


def test_a_token_revoked_while_the_caller_takes_the_database_path_is_inactive(redis_cache, monkeypatch):  # noqa: F811
    # The token asked about is read with the caller's secret; when the caller then takes the database path (a
    # miss: slow, a secret hash to verify), what was read ahead is read again — as without reading ahead — so a
    # revocation another process commits meanwhile is seen by this very request.
    from clients import authcache as client_authcache

    _, asked = client_token()
    caller, secret = resource_server()
    for _ in range(3):
        assert introspect(asked, caller, secret).json()["active"] is True
    checksum = authcache.checksum_of(asked)
    read_then_miss, remember = client_authcache.cached_client, client_authcache.remember

    def caller_missed(*args):
        read_then_miss(*args)  # the read is made (the token asked about with it), then the caller misses
        return None

    def revoked_elsewhere_meanwhile(client, value):
        get_access_token_model().objects.filter(token_checksum=checksum)._raw_delete("default")
        cache.set(f"iam:auth:tok:{checksum}", authcache.TOMBSTONE, 3600)  # no epoch moves in this process
        return remember(client, value)

    monkeypatch.setattr(client_authcache, "cached_client", caller_missed)
    monkeypatch.setattr(client_authcache, "remember", revoked_elsewhere_meanwhile)
    assert introspect(asked, caller, secret).json() == {"active": False}


def test_a_cold_check_answers_from_the_database_while_redis_refuses_writes(redis_cache):  # noqa: F811
    # A reachable Redis that refuses writes (read-only after a failover, a failed save, out of memory) counts as
    # unavailable: the breaker opens and requests are answered from the database, never a 500; once Redis takes
    # writes again the probe (whose recovery hooks write) closes the breaker.
    import time

    subject = make_principal(permissions=["orders/items:read"])
    _, token = client_token()
    raw = redis_py.Redis.from_url(redis_cache.url)
    raw.config_set("min-replicas-to-write", 1)
    try:
        for _ in range(2):
            answer = HttpClient(raise_request_exception=False).post(
                "/resources/iam/authorize", {"iamId": subject.iam_id, "permission": "orders/items:read"},
                content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}")
            assert answer.status_code == 200 and answer.json()["allowed"] is True
        assert cache.breaker.state == "open"
    finally:
        raw.config_set("min-replicas-to-write", 0)
    time.sleep(0.4)  # the fixture's breaker period
    assert check(token, subject.iam_id).json()["allowed"] is True
    assert cache.breaker.state == "closed"
