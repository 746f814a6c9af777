"""Introspection's caller authenticated from the cache (clients/authcache.py): a warm call makes no query, and
every change that could make the cached secret or client stale is refused on the very next request — by the
database path, which audits the failure."""

import time
from datetime import timedelta

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection
from django.test import Client as HttpClient
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from clients import authcache as client_authcache
from clients import services
from clients.models import ClientSecret
from iam_project import authcache
from iam_project.hooks import invalidate_credentials
from tests.audit.helpers import events_since, mark
from tests.perf.test_authcache_outage import redis_cache  # noqa: F401 (fixture)
from tests.perf.test_query_budgets import client_token
from tests.perf.test_round_trips import commands  # noqa: F401 (fixture)

from .oidc_helpers import basic, make_app

pytestmark = pytest.mark.django_db

INTROSPECT = "/oauth/introspect/"


def introspect(token, caller, secret, client_id=None, in_body=False):
    client_id = caller.client_id if client_id is None else client_id
    if in_body:
        return HttpClient().post(INTROSPECT, {"token": token, "client_id": client_id, "client_secret": secret})
    return HttpClient().post(INTROSPECT, {"token": token}, HTTP_AUTHORIZATION=basic(client_id, secret))


def resource_server(**fields):
    return make_app(grant_types=("client_credentials",), roles=["system:resource-server"], **fields)


def warm(token, caller, secret, **kwargs):
    """One cold call (database path, fills the cache), then one that must be served without a query."""
    assert introspect(token, caller, secret, **kwargs).json()["active"] is True
    with CaptureQueriesContext(connection) as queries:
        assert introspect(token, caller, secret, **kwargs).json()["active"] is True
    assert len(queries) == 0, [q["sql"] for q in queries]


def refused(token, caller, secret, reason, client_id=None):
    """The next call is a 401 invalid_client and the database path audited it with ``reason``."""
    seq = mark()
    response = introspect(token, caller, secret, client_id=client_id)
    assert response.status_code == 401 and response.json()["error"] == "invalid_client", response.content
    [event] = events_since(seq, action="client.auth_failed")
    assert event.details["reason"] == reason and event.details["endpoint"] == INTROSPECT
    return event


@pytest.fixture
def token():
    return client_token()[1]


def test_a_warm_introspection_makes_no_query(token, django_assert_num_queries):
    caller, secret = resource_server()
    cold = introspect(token, caller, secret)
    assert cold.status_code == 200 and cold.json()["active"] is True
    with django_assert_num_queries(0):
        again = introspect(token, caller, secret)
    assert again.status_code == 200 and again.json() == cold.json()


def test_body_credentials_are_served_warm_too(token):
    caller, secret = resource_server()
    warm(token, caller, secret, in_body=True)


def test_a_revoked_secret_is_refused_on_the_next_request(token):
    caller, secret = resource_server()
    warm(token, caller, secret)
    [row] = ClientSecret.objects.filter(client=caller)
    services.revoke_secret(None, caller.pk, row.pk)
    refused(token, caller, secret, "invalid_secret")


def test_a_secret_deleted_in_bulk_is_refused_on_the_next_request(token):
    caller, secret = resource_server()
    warm(token, caller, secret)
    ClientSecret.objects.filter(client=caller).delete()  # a queryset delete sends post_delete per row
    refused(token, caller, secret, "invalid_secret")


def test_a_rotated_out_secret_is_refused_on_the_next_request(token):
    caller, secret = resource_server()
    warm(token, caller, secret)
    _, new_secret = services.rotate_secret(None, caller.pk)  # the old one expires now (a save)
    refused(token, caller, secret, "invalid_secret")
    assert introspect(token, caller, new_secret).json()["active"] is True


def test_an_expiry_moved_earlier_is_refused_on_the_next_request(token):
    caller, secret = resource_server()
    warm(token, caller, secret)
    row = ClientSecret.objects.get(client=caller)
    row.expires_at = timezone.now() - timedelta(seconds=1)
    row.save(update_fields=["expires_at"])  # as the console's secret form does
    refused(token, caller, secret, "invalid_secret")


def test_a_secret_past_its_expiry_is_refused_though_cached(token):
    caller, _ = resource_server()
    row, secret = services.create_secret(None, caller.pk, expires_at=timezone.now() + timedelta(minutes=2))
    warm(token, caller, secret)
    with time_machine.travel(row.expires_at + timedelta(seconds=1)):
        refused(token, caller, secret, "invalid_secret")


def test_a_suspended_caller_is_refused_at_once(token, owner):
    caller, secret = resource_server()
    warm(token, caller, secret)
    services.set_client_suspended(owner, caller.pk, True)
    refused(token, caller, secret, "client_suspended")
    services.set_client_suspended(owner, caller.pk, False)
    assert introspect(token, caller, secret).json()["active"] is True


def test_a_deleted_caller_is_refused_at_once(token, owner):
    caller, secret = resource_server()
    warm(token, caller, secret)
    services.delete_client(owner, caller.pk)
    refused(token, caller, secret, "unknown_client")


def test_deleting_a_client_tombstones_its_secrets(owner):
    """The cascade from the client to its secrets sends post_delete for each (a receiver is connected), so
    their entries are tombstones — not only the client's snapshot."""
    caller, secret = resource_server()
    key = client_authcache._secret_key(ClientSecret.digest_of(secret))
    client_authcache.remember(caller, secret)
    entries, _, _ = authcache._read([key])
    assert entries[key]["client_id"] == caller.client_id
    services.delete_client(owner, caller.pk)
    entries, _, _ = authcache._read([key])
    assert entries[key] == authcache.TOMBSTONE


def test_a_wrong_secret_for_a_cached_client_id_is_refused(token):
    caller, secret = resource_server()
    warm(token, caller, secret)
    refused(token, caller, secret[:-2] + ("xy" if not secret.endswith("xy") else "zz"), "invalid_secret")
    refused(token, caller, "", "missing_secret")


def test_another_clients_cached_secret_under_this_client_id_is_refused(token):
    caller, secret = resource_server()
    other, other_secret = resource_server()
    warm(token, caller, secret)
    warm(token, other, other_secret)
    event = refused(token, caller, other_secret, "invalid_secret")
    assert event.details["clientId"] == caller.client_id


def test_invalidated_credentials_of_the_caller_send_it_to_the_database(token):
    caller, secret = resource_server()
    warm(token, caller, secret)
    invalidate_credentials(caller, "test")
    key = client_authcache._secret_key(ClientSecret.digest_of(secret))
    entries, _, _ = authcache._read([key])
    assert entries[key] == authcache.TOMBSTONE
    with CaptureQueriesContext(connection) as queries:
        assert introspect(token, caller, secret).json()["active"] is True  # the secret itself is still good
    assert any("clients_clientsecret" in q["sql"] for q in queries)


def test_with_the_cache_off_every_call_reads_the_database(token, settings):
    settings.IAM_AUTH_CACHE = {**settings.IAM_AUTH_CACHE, "ENABLED": False}
    caller, secret = resource_server()
    for _ in range(2):
        with CaptureQueriesContext(connection) as queries:
            assert introspect(token, caller, secret).json()["active"] is True
        assert any("clients_clientsecret" in q["sql"] for q in queries)


# --- Redis down and back (a redis-server of the test's own, stopped and started: no mocks) ---------------


def test_with_redis_down_the_caller_authenticates_from_the_database(redis_cache):
    _, token = client_token()
    caller, secret = resource_server()
    other, other_secret = resource_server()
    warm(token, caller, secret)
    warm(token, other, other_secret)
    redis_cache.stop()
    with CaptureQueriesContext(connection) as queries:
        assert introspect(token, caller, secret).json()["active"] is True  # the database answers
    assert any("clients_clientsecret" in q["sql"] for q in queries)
    [row] = ClientSecret.objects.filter(client=other)
    services.revoke_secret(None, other.pk, row.pk)  # its tombstone cannot reach Redis
    refused(token, other, other_secret, "invalid_secret")
    redis_cache.start()  # the append-only file brings the secret's entry from before back
    time.sleep(0.4)
    refused(token, other, other_secret, "invalid_secret")  # a new generation: the old entry is not believed
    assert cache.breaker.state == "closed"
    warm(token, caller, secret)  # and the warm path works again


def test_a_warm_caller_costs_one_redis_round_trip(redis_cache, commands):  # noqa: F811
    """The caller's secret entry and its client's snapshot are read together (once the process has learnt
    which client the secret belongs to)."""
    _, token = client_token()
    caller, secret = resource_server()
    warm(token, caller, secret)
    introspect(token, caller, secret)
    commands.clear()
    assert client_authcache.cached_client(caller.client_id, secret).pk == caller.pk
    assert commands == ["MGET"], commands
    commands.clear()
    assert introspect(token, caller, secret).json()["active"] is True
    # the flood count and the lock-out blocks (1: a pipeline); the caller with its grants and the token asked
    # about with its identities and their grants (1): no query, and two round trips to Redis (seven, then three
    # before).
    assert commands == ["EVALSHA+MGET", "MGET"], commands


def test_a_token_revoked_between_two_introspections_is_inactive_though_read_with_the_caller(redis_cache):  # noqa: F811
    from clients.revocation import revoke_tokens

    owner_of_token, asked = client_token()
    caller, secret = resource_server()
    for _ in range(3):
        assert introspect(asked, caller, secret).json()["active"] is True
    revoke_tokens(owner_of_token, "test")
    assert introspect(asked, caller, secret).json() == {"active": False}


def test_a_warm_caller_without_the_permission_is_still_refused(token):
    caller, secret = make_app(grant_types=("client_credentials",))
    answers = [introspect(token, caller, secret) for _ in range(3)]
    assert [a.status_code for a in answers] == [403, 403, 403]
    assert all(a.json()["error"] == "unauthorized_client" for a in answers)
