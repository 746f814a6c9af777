"""Redis round trips on the hot path, counted on a real redis-server: a warm check reads its bearer token and
the token's identities in one round trip, a rate-limit count increments in one (atomically, never leaving a
counter without its expiry), and revocation still wins over what this process remembers."""

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
    return sent


def test_a_warm_check_reads_token_and_identities_in_one_round_trip(redis_cache, commands):  # noqa: F811
    subject = make_principal(permissions=["orders/items:read"])
    _, token = client_token()
    assert check(token, subject.iam_id).json()["allowed"] is True
    assert check(token, subject.iam_id).json()["allowed"] is True  # learns the token's identities
    commands.clear()
    assert check(token, subject.iam_id).json()["allowed"] is True
    # token + its client (1), the subject (1), the engine's grants (2), the rate-limit count (2).
    assert len(commands) <= 6, commands


def test_a_token_revoked_after_its_identities_were_learnt_is_refused(redis_cache):  # noqa: F811
    from clients.revocation import revoke_tokens

    subject = make_principal(permissions=["orders/items:read"])
    client, token = client_token()
    for _ in range(3):
        assert check(token, subject.iam_id).status_code == 200
    revoke_tokens(client, "test")
    assert check(token, subject.iam_id).status_code == 401


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
