"""The cache's circuit breaker (iam_project.cache): its states on a moved clock, and what the platform does
with a Redis that refuses, hangs, or comes back holding entries from before its outage — all against real
sockets and real redis-servers, no mocks."""

import logging
import time

import pytest
import time_machine
from django.core.cache import cache

from iam_project import cache as resilient
from iam_project.cache import PROBE, CircuitBreaker, ResilientRedisCache, safe_location
from roles import engine
from roles.models import RoleBinding
from tests.conftest import api_client_for, make_principal, make_role
from tests.faults import RedisServer, SilentServer, free_port

START = 1_800_000_000


@pytest.fixture(autouse=True)
def _fresh_breakers():
    resilient.reset_breakers()
    yield
    resilient.reset_breakers()


@pytest.fixture
def default_cache(settings):
    """Point the default cache (the engine's, the account id's, the rate limits') at a Redis URL through
    the breaker; the original cache is back before the shared fixtures clear it."""
    original = settings.CACHES

    def point(url, **options):
        settings.CACHES = {**original, "default": {
            "BACKEND": "iam_project.cache.ResilientRedisCache", "LOCATION": url, "KEY_PREFIX": "t",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5, "BREAKER_SECONDS": 0.5,
                        "LOCAL_FALLBACK_PREFIXES": [settings.RATELIMIT_CACHE_PREFIX], **options}}}
        return cache

    yield point
    settings.CACHES = original
    resilient.reset_breakers()


def backend(url, **options):
    return ResilientRedisCache(url, {"OPTIONS": {"BREAKER_SECONDS": 5, **options}})


# --- the breaker's states, on time-machine's clock ------------------------------------------------------------

def test_a_failure_opens_the_breaker_and_one_probe_goes_through_after_its_period():
    with time_machine.travel(START, tick=False) as clock:
        breaker = CircuitBreaker("redis-test", reset_seconds=10)
        assert breaker.allow() is True
        breaker.failure("ConnectionError")
        assert breaker.allow() is False
        clock.shift(9.9)
        assert breaker.allow() is False
        clock.shift(0.2)
        assert breaker.allow() == PROBE
        assert breaker.allow() is False  # one probe at a time: the others still answer without Redis
        breaker.success()
        assert breaker.allow() is True and breaker.state == "closed"


def test_a_failed_probe_opens_the_breaker_for_another_full_period():
    with time_machine.travel(START, tick=False) as clock:
        breaker = CircuitBreaker("redis-test", reset_seconds=10)
        breaker.failure("ConnectionError")
        clock.shift(10)
        assert breaker.allow() == PROBE
        breaker.failure("ConnectionError")
        clock.shift(9)
        assert breaker.allow() is False
        clock.shift(1)
        assert breaker.allow() == PROBE


def test_the_degradation_is_logged_once_per_interval_and_the_recovery_once(caplog):
    with time_machine.travel(START, tick=False) as clock, caplog.at_level(logging.INFO, logger="iam_project.cache"):
        breaker = CircuitBreaker("127.0.0.1:6390/0", reset_seconds=5, log_interval=60)
        breaker.failure("ConnectionError")
        for _ in range(10):  # a failed probe every 5 seconds, requests answered meanwhile
            clock.shift(5)
            assert breaker.allow() == PROBE
            breaker.count_fallback("get_many")
            breaker.failure("ConnectionError")
        clock.shift(11)  # 61 s after the first line
        assert breaker.allow() == PROBE
        breaker.failure("TimeoutError")
        breaker.success()
    lines = [r.getMessage() for r in caplog.records if r.name == "iam_project.cache"]
    assert len(lines) == 3, lines
    assert lines[0].startswith("cache.degraded cache=127.0.0.1:6390/0 error=ConnectionError") and "suppressed=0" in lines[0]
    assert "error=TimeoutError" in lines[1] and "down_seconds=61" in lines[1] and "fallbacks=10" in lines[1]
    assert "suppressed=10" in lines[1]
    assert lines[2].startswith("cache.recovered cache=127.0.0.1:6390/0 down_seconds=61 fallbacks=10")


def test_logs_and_metric_labels_never_carry_the_redis_password():
    assert safe_location("redis://user:s3cret@cache.internal:6380/2") == "cache.internal:6380/2"
    assert safe_location("rediss://:s3cret@a:1/0,redis://b:2/0") == "a:1/0,b:2/0"
    assert backend("redis://:s3cret@127.0.0.1:1/0").breaker.name == "127.0.0.1:1/0"


# --- a Redis that refuses or hangs ------------------------------------------------------------------------------

def test_an_unreachable_redis_answers_misses_and_writes_nothing():
    dead = backend(f"redis://127.0.0.1:{free_port()}/0")
    assert dead.get("k", "default") == "default"
    assert dead.breaker.state == "open"
    assert dead.get_many(["a", "b"]) == {}
    assert dead.set("k", 1) is None and dead.add("k", 1) is False and dead.has_key("k") is False
    assert dead.touch("k") is False and dead.set_many({"a": 1}) == []
    with pytest.raises(ValueError):
        dead.incr("k")  # as for a missing key
    assert dead.delete("k") is False and dead.clear() is False
    assert dead.breaker.dirty  # the dropped invalidations must be made good when Redis returns
    assert dead.breaker.fallbacks >= 10


def test_a_hanging_redis_costs_one_time_out_then_nothing_until_the_probe():
    silent = SilentServer()
    try:
        hanging = backend(silent.url, socket_connect_timeout=0.3, socket_timeout=0.3, BREAKER_SECONDS=30)
        started = time.monotonic()
        assert hanging.get("k") is None
        first = time.monotonic() - started
        started = time.monotonic()
        for _ in range(200):
            assert hanging.get_many(["k", "l"]) == {}
        rest = time.monotonic() - started
    finally:
        silent.close()
    assert 0.25 <= first < 2, first  # the socket time-out, once
    assert rest < 0.2, rest  # then the breaker answers at once: no request waits for the dead Redis
    assert len(silent.accepted) == 1


def test_rate_limit_keys_count_in_the_process_while_redis_is_down():
    dead = backend(f"redis://127.0.0.1:{free_port()}/0", LOCAL_FALLBACK_PREFIXES=["rl:"])
    assert dead.add("rl:count", 1, 60) is True
    assert dead.incr("rl:count") == 2 and dead.incr("rl:count") == 3
    assert dead.get("rl:count") == 3
    dead.set("rl:block:x", 123.0, 60)
    assert dead.get_many(["rl:block:x", "iam:perms:generation"]) == {"rl:block:x": 123.0}
    assert dead.get("iam:perms:generation") is None  # not a count: a miss


@pytest.mark.django_db
def test_the_engine_and_the_api_answer_from_the_database_with_redis_unreachable(default_cache, settings):
    default_cache(f"redis://127.0.0.1:{free_port()}/0")
    settings.IAM_RATE_LIMITS = {"API_REQUESTS_PER_IDENTITY": "3/1d"}
    subject = make_principal(permissions=["orders/items:read"])
    assert engine.decide(subject, "orders/items:read", scopes=None).allowed
    assert not engine.decide(subject, "orders/items:write", scopes=None).allowed
    owner = api_client_for(make_principal(roles=["system:owner"]))
    answer = owner.post("/resources/iam/authorize", {"iamId": subject.iam_id, "permission": "orders/items:read"},
                        format="json")
    assert answer.status_code == 200 and answer.json()["allowed"] is True
    assert owner.get("/resources/iam/principals").status_code == 200
    assert owner.get("/v1/apikeys").status_code == 200  # the IBM face reads the account id from the cache
    assert owner.get("/resources/me").status_code == 429  # the identity's API rate, counted in the process
    assert cache.breaker.state == "open"


# --- Redis comes back ---------------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_a_binding_removed_while_redis_is_down_is_not_granted_once_it_returns(default_cache, tmp_path):
    """Redis returns holding the grants compiled before the outage; the invalidation sent meanwhile was
    lost. On recovery the breaker runs the engine's hook (a new generation) before anything reads Redis."""
    redis = RedisServer(tmp_path).start()
    try:
        default_cache(redis.url, BREAKER_SECONDS=0.3)
        subject = make_principal()
        binding = RoleBinding.objects.create(principal=subject, role=make_role(["orders/items:read"]))
        assert engine.decide(subject, "orders/items:read", scopes=None).allowed  # compiled into Redis
        redis.stop()
        binding.delete()  # its invalidation cannot reach Redis
        assert not engine.decide(subject, "orders/items:read", scopes=None).allowed  # compiled from the database
        redis.start()  # the append-only file brings the old entry back
        time.sleep(0.4)
        assert not engine.decide(subject, "orders/items:read", scopes=None).allowed
        assert cache.breaker.state == "closed"
        # and the cache serves again: the next decision costs no query
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            assert not engine.decide(subject, "orders/items:read", scopes=None).allowed
        assert len(queries) == 0
    finally:
        redis.stop()


@pytest.mark.django_db
def test_a_process_that_dropped_an_invalidation_makes_it_good_without_another_request(default_cache, tmp_path):
    redis = RedisServer(tmp_path).start()
    try:
        default_cache(redis.url, BREAKER_SECONDS=0.3)
        subject = make_principal(permissions=["orders/items:read"])
        assert engine.decide(subject, "orders/items:read", scopes=None).allowed
        import redis as redis_py

        raw = redis_py.Redis.from_url(redis.url)
        generation_key = next(k for k in raw.keys("*") if k.endswith(b"iam:perms:generation"))
        before = raw.get(generation_key)
        redis.stop()
        engine.invalidate(subject)  # dropped: Redis is down
        redis.start()
        raw = redis_py.Redis.from_url(redis.url)
        deadline = time.monotonic() + 5
        while raw.get(generation_key) == before and time.monotonic() < deadline:
            time.sleep(0.1)  # nothing in this process touches the cache: its background probe does
        assert raw.get(generation_key) != before
        assert cache.breaker.state == "closed"
    finally:
        redis.stop()


@pytest.mark.django_db
def test_the_sign_in_lock_out_holds_with_redis_unreachable(default_cache, settings):
    """django-axes counts in the database: the lock-out does not depend on the cache."""
    from django.test import Client

    default_cache(f"redis://127.0.0.1:{free_port()}/0")
    settings.AXES_FAILURE_LIMIT = 3
    principal = make_principal(password="Right-passphrase-42")
    http = Client()
    for _ in range(2):
        assert http.post("/admin/login/", {"username": principal.email, "password": "wrong-guess"}).status_code == 200
    assert http.post("/admin/login/", {"username": principal.email, "password": "wrong-guess"}).status_code == 429
    locked = http.post("/admin/login/", {"username": principal.email, "password": "Right-passphrase-42"})
    assert locked.status_code == 429
    assert cache.breaker.state == "open"  # the cache was down all along
