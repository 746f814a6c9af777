"""Redis round trips on the hot path, counted on a real redis-server: a warm check reads its bearer token, the
token's identities and their grants in one round trip, the subject and its grants in one, and counts its
rate limit in one (atomically, never leaving a counter without its expiry); revocation still wins over what
this process remembers, and what a request read ahead never hides a change the request itself made."""

import pytest
import redis.client
from django.core.cache import cache

from tests.conftest import make_principal
from tests.perf.test_authcache_outage import redis_cache  # noqa: F401 (fixture)
from tests.perf.test_query_budgets import check, client_token

pytestmark = pytest.mark.django_db


@pytest.fixture
def commands(monkeypatch):
    sent = []
    original = redis.client.Redis.execute_command

    def counted(self, *args, **options):
        sent.append(args[0])
        return original(self, *args, **options)

    monkeypatch.setattr(redis.client.Redis, "execute_command", counted)
    pipelined = redis.client.Pipeline.execute

    def one_round_trip(self, *args, **options):  # a pipeline's commands travel together
        sent.append("+".join(str(command[0][0]) for command in self.command_stack))
        return pipelined(self, *args, **options)

    monkeypatch.setattr(redis.client.Pipeline, "execute", one_round_trip)
    return sent


def test_a_warm_check_reads_token_and_identities_in_one_round_trip(redis_cache, commands):  # noqa: F811
    subject = make_principal(permissions=["orders/items:read"])
    _, token = client_token()
    assert check(token, subject.iam_id).json()["allowed"] is True
    assert check(token, subject.iam_id).json()["allowed"] is True  # learns the token's identities
    commands.clear()
    assert check(token, subject.iam_id).json()["allowed"] is True
    # token + its client + the client's grants + the subject + its grants, and the rate-limit count: one
    # pipeline. It was six before grants were read ahead and the count became one script, then three.
    assert commands == ["EVALSHA+MGET"], commands


def _identity_count(client):
    from iam_project import ratelimit

    key, *_ = ratelimit._count_key("api-identity", client.iam_id, ratelimit.rate("API_REQUESTS_PER_IDENTITY"))
    return int(cache.get(key) or 0)


def test_each_warm_check_counts_once_against_its_caller(redis_cache):  # noqa: F811
    subject = make_principal(permissions=["orders/items:read"])
    client, token = client_token()
    for _ in range(5):
        assert check(token, subject.iam_id).status_code == 200
    assert _identity_count(client) == 5


def test_the_caller_is_still_limited_when_its_count_is_made_ahead(redis_cache, settings):  # noqa: F811
    subject = make_principal(permissions=["orders/items:read"])
    _, token = client_token()
    settings.IAM_RATE_LIMITS = {**settings.IAM_RATE_LIMITS, "API_REQUESTS_PER_IDENTITY": "3/m"}
    answers = [check(token, subject.iam_id) for _ in range(5)]
    assert [a.status_code for a in answers][-2:] == [429, 429]
    assert int(answers[-1]["Retry-After"]) >= 1


def test_a_request_refused_for_lack_of_permission_is_not_counted(redis_cache):  # noqa: F811
    subject = make_principal(permissions=["orders/items:read"])
    client, token = client_token(scopes=("iam/authorize:read",), permissions=("orders/items:read",))
    for _ in range(4):
        assert check(token, subject.iam_id).status_code == 403
    assert _identity_count(client) == 0  # as before the count was made ahead: the throttle never ran


def test_asking_about_a_token_never_counts_against_its_identity(redis_cache):  # noqa: F811
    from iam_project import authcache
    from iam_project.cache import request_scope

    subject = make_principal(permissions=["orders/items:read"])
    client, token = client_token()
    for _ in range(3):
        assert check(token, subject.iam_id).status_code == 200
    with request_scope():
        for _ in range(4):
            assert authcache.cached_token(token) is not None  # introspection's read of a token it is asked about
    assert _identity_count(client) == 3


def test_a_subject_suspended_after_it_was_read_ahead_once_is_refused(redis_cache, owner):  # noqa: F811
    from principals import services as principal_services

    subject = make_principal(permissions=["orders/items:read"])
    _, token = client_token()
    for _ in range(3):
        assert check(token, subject.iam_id).json()["allowed"] is True
    principal_services.suspend_principal(owner, subject.pk)
    assert check(token, subject.iam_id).json()["allowed"] is False


def test_a_body_that_is_not_json_still_gets_the_views_answer(redis_cache):  # noqa: F811
    from django.test import Client as HttpClient

    _, token = client_token()
    answer = HttpClient().post("/resources/iam/authorize", b'{"iamId": ', content_type="application/json",
                               HTTP_AUTHORIZATION=f"Bearer {token}")
    assert answer.status_code == 400
    assert "detail" in answer.json() or "errors" in answer.json()
    named = HttpClient().post("/resources/iam/authorize", {"iamId": "x" * 65, "permission": "a/b:read"},
                              content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert named.status_code == 400 and "iamId" in str(named.json())  # the serializer's answer, as before


def test_a_rate_limit_count_is_one_command_and_always_expires(redis_cache, commands):  # noqa: F811
    raw = cache._cache.get_client(write=True)
    assert cache.count("rl:window", 1, 30) == 1  # the first loads the script into Redis
    commands.clear()
    assert cache.count("rl:window", 1, 30) == 2
    assert commands == ["EVALSHA"], commands
    assert 0 < raw.ttl(cache.make_key("rl:window")) <= 30
    raw.set(cache.make_key("rl:forever"), 5)  # a counter someone left without an expiry
    assert cache.count("rl:forever", 1, 30) == 6
    assert 0 < raw.ttl(cache.make_key("rl:forever")) <= 30


def test_a_rate_limit_still_counts_across_the_one_command(redis_cache, rf, settings):  # noqa: F811
    from iam_project import ratelimit

    counts = [ratelimit.usage(rf.get("/"), "test.window", "203.0.113.9", "3/m", True) for _ in range(4)]
    assert [c["count"] for c in counts] == [1, 2, 3, 4]
    assert [c["should_limit"] for c in counts] == [False, False, False, True]
    # django-ratelimit reads the same key the one command wrote (a peek does not count)
    assert ratelimit.usage(rf.get("/"), "test.window", "203.0.113.9", "3/m", False)["count"] == 4


def test_grants_read_ahead_never_hide_a_change_made_in_the_same_request(redis_cache):  # noqa: F811
    from iam_project import authcache
    from iam_project.cache import request_scope
    from roles import engine
    from roles.models import RoleBinding

    subject = make_principal(permissions=["orders/items:read"])
    assert engine.decide(subject, "orders/items:read").allowed  # fills its grants
    authcache.cached_identity(subject.iam_id)  # fills its snapshot
    with request_scope():
        found = authcache.cached_identity(subject.iam_id)  # reads its grants ahead
        RoleBinding.objects.filter(principal=subject).delete()  # the engine invalidates them
        assert engine.decide(found, "orders/items:read").allowed is False


def test_a_grant_removed_between_two_checks_is_gone_at_the_second(redis_cache, owner):  # noqa: F811
    from roles import services as role_services
    from roles.models import RoleBinding

    subject = make_principal(permissions=["orders/items:read"])
    _, token = client_token()
    for _ in range(3):
        assert check(token, subject.iam_id).json()["allowed"] is True
    role_services.remove_binding(owner, RoleBinding.objects.get(principal=subject), check=False)
    assert check(token, subject.iam_id).json()["allowed"] is False


def test_a_token_revoked_after_its_identities_were_learnt_is_refused(redis_cache):  # noqa: F811
    from clients.revocation import revoke_tokens

    subject = make_principal(permissions=["orders/items:read"])
    client, token = client_token()
    for _ in range(3):
        assert check(token, subject.iam_id).status_code == 200
    revoke_tokens(client, "test")
    for _ in range(5):
        assert check(token, subject.iam_id).status_code == 401
    # Someone replaying a token revoked since (a stolen one) cannot use up its identity's allowance: the count made
    # ahead, before the token was found revoked, is given back.
    assert _identity_count(client) == 3


def test_a_suspended_client_is_refused_after_its_identity_was_learnt(redis_cache, owner):  # noqa: F811
    from clients import services as client_services

    subject = make_principal(permissions=["orders/items:read"])
    client, token = client_token()
    for _ in range(3):
        assert check(token, subject.iam_id).status_code == 200
    client_services.set_client_suspended(owner, client.pk, True)
    assert check(token, subject.iam_id).status_code == 401


def test_incr_is_one_atomic_command_that_keeps_the_expiry(redis_cache, commands):  # noqa: F811
    assert cache.add("rl:count", 1, timeout=60)
    assert cache.incr("rl:count", 2) == 3  # the first loads the script into Redis
    commands.clear()
    assert cache.incr("rl:count") == 4
    assert commands == ["EVALSHA"], commands
    raw = cache._cache.get_client(write=True)
    assert 0 < raw.ttl(cache.make_key("rl:count")) <= 60
    with pytest.raises(ValueError):
        cache.incr("rl:absent")
    assert raw.exists(cache.make_key("rl:absent")) == 0


def test_grants_read_ahead_are_believed_for_a_second_at_most(redis_cache, monkeypatch):  # noqa: F811
    """A long request (a bulk action) sees another process's invalidation about when it would have without
    reading ahead: what was read ahead is dropped after READ_AHEAD_SECONDS."""
    import time

    from iam_project import authcache
    from iam_project import cache as plumbing
    from roles import engine

    subject = make_principal(permissions=["orders/items:read"])
    engine.grants_for(subject)
    authcache.cached_identity(subject.iam_id)
    with plumbing.request_scope():
        authcache.cached_identity(subject.iam_id)
        keys = [engine._GENERATION_KEY, engine._ENTRY_KEY.format(iam_id=subject.iam_id)]
        assert plumbing.read_ahead(keys) is not None
        later = time.monotonic() + plumbing.READ_AHEAD_SECONDS + 0.1
        monkeypatch.setattr(plumbing.time, "monotonic", lambda: later)
        assert plumbing.read_ahead(keys) is None


def test_the_flood_count_and_the_blocks_are_one_round_trip_even_after_a_script_flush(redis_cache, commands):  # noqa: F811
    """A credential endpoint counts its flood limit and reads the lock-out blocks in one pipeline; a Redis that
    forgot the script (restarted, SCRIPT FLUSH) gets it loaded again and the count goes on."""
    raw = cache._cache.get_client(write=True)
    cache.set("rl:block:a", 123.0, 60)
    assert cache.count_and_get_many("rl:flood", 1, 30, ["rl:block:a", "rl:block:b"]) == (1, {"rl:block:a": 123.0})
    commands.clear()
    assert cache.count_and_get_many("rl:flood", 1, 30, ["rl:block:a"])[0] == 2
    assert commands == ["EVALSHA+MGET"], commands
    raw.script_flush()
    assert cache.count_and_get_many("rl:flood", 1, 30, ["rl:block:a"]) == (3, {"rl:block:a": 123.0})
    assert 0 < raw.ttl(cache.make_key("rl:flood")) <= 30
