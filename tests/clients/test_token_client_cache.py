"""The token endpoint authenticates its client from the cache (clients/authcache.py, through the validator's
``authenticate_client``): a warm request reads no secret or client row, and every change that could make the
cached secret or client stale — revocation, rotation, expiry, suspension, deletion, a narrowed grant list or
scope list — is refused or honoured on the very next token request, by the database path, which audits it."""

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test import Client as HttpClient
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from clients import services
from clients.models import ClientSecret
from iam_project.hooks import invalidate_credentials
from tests.audit.helpers import events_since, mark

from .test_token_endpoint import TOKEN, make_client, token_request

pytestmark = pytest.mark.django_db


def client_rows_read(queries):
    return [q["sql"] for q in queries if "clients_clientsecret" in q["sql"] or 'FROM "clients_client"' in q["sql"]]


def warm(client, secret, **data):
    """One cold request (database path, fills the cache), then one that reads no secret or client row."""
    assert token_request(client.client_id, secret, **data).status_code == 200
    with CaptureQueriesContext(connection) as queries:
        response = token_request(client.client_id, secret, **data)
    assert response.status_code == 200, response.content
    assert client_rows_read(queries) == []
    return response


def refused(client, secret, reason, client_id=None):
    """The next token request is a 401 invalid_client, and the database path audited ``reason``."""
    seq = mark()
    response = token_request(client.client_id if client_id is None else client_id, secret)
    assert response.status_code == 401 and response.json()["error"] == "invalid_client", response.content
    [event] = events_since(seq, action="client.auth_failed")
    assert event.details["reason"] == reason and event.details["endpoint"] == TOKEN
    return event


def test_a_warm_token_request_reads_no_secret_or_client_row():
    client, secret = make_client()
    warm(client, secret)
    warm(client, secret, basic=False)  # credentials in the body take the same path


def test_a_revoked_secret_is_refused_on_the_next_token_request():
    client, secret = make_client()
    warm(client, secret)
    [row] = ClientSecret.objects.filter(client=client)
    services.revoke_secret(None, client.pk, row.pk)
    refused(client, secret, "invalid_secret")


def test_a_rotated_out_secret_is_refused_and_the_new_one_served():
    client, secret = make_client()
    warm(client, secret)
    _, new_secret = services.rotate_secret(None, client.pk)
    refused(client, secret, "invalid_secret")
    warm(client, new_secret)


def test_a_secret_past_its_expiry_is_refused_though_cached():
    client, _ = make_client()
    row, secret = services.create_secret(None, client.pk, expires_at=timezone.now() + timedelta(minutes=2))
    warm(client, secret)
    with time_machine.travel(row.expires_at + timedelta(seconds=1)):
        refused(client, secret, "invalid_secret")


def test_a_suspended_client_gets_no_token_on_the_next_request(owner):
    client, secret = make_client()
    warm(client, secret)
    services.set_client_suspended(owner, client.pk, True)
    refused(client, secret, "client_suspended")
    services.set_client_suspended(owner, client.pk, False)
    assert token_request(client.client_id, secret).status_code == 200  # the database path (a tombstone stands)


def test_a_deleted_client_gets_no_token_on_the_next_request(owner):
    client, secret = make_client()
    warm(client, secret)
    services.delete_client(owner, client.pk)
    refused(client, secret, "unknown_client")


def test_another_clients_cached_secret_under_this_client_id_is_refused():
    client, secret = make_client()
    other, other_secret = make_client()
    warm(client, secret)
    warm(other, other_secret)
    event = refused(client, other_secret, "invalid_secret")
    assert event.details["clientId"] == client.client_id


def test_a_wrong_or_missing_secret_for_a_warm_client_is_refused():
    client, secret = make_client()
    warm(client, secret)
    refused(client, secret[:-2] + ("xy" if not secret.endswith("xy") else "zz"), "invalid_secret")
    seq = mark()
    response = HttpClient().post(TOKEN, {"grant_type": "client_credentials", "client_id": client.client_id})
    assert response.status_code == 401
    assert [e.details["reason"] for e in events_since(seq, action="client.auth_failed")] == ["missing_secret"]


def test_invalidated_credentials_send_the_next_request_to_the_database():
    client, secret = make_client()
    warm(client, secret)
    invalidate_credentials(client, "test")
    with CaptureQueriesContext(connection) as queries:
        assert token_request(client.client_id, secret).status_code == 200  # the secret itself is still good
    assert any("clients_clientsecret" in sql for sql in client_rows_read(queries))


def test_a_grant_removed_from_a_warm_client_is_refused_on_the_next_request(owner):
    """The cached client carries its grant list: a change to it must reach the next request, not the
    cache's lifetime later."""
    client, secret = make_client(grant_types=("client_credentials", "authorization_code"),
                                 redirectUris=["https://app.example/cb"])
    warm(client, secret)
    services.update_client(owner, client.pk, properties={"grantTypes": ["authorization_code"]})
    response = token_request(client.client_id, secret)
    assert response.status_code in (400, 401) and response.json()["error"] == "unauthorized_client", response.content


def test_a_scope_removed_from_a_warm_client_is_no_longer_granted(owner):
    client, secret = make_client(scopes=("iam/principals:read", "iam/clients:read"))
    assert set(warm(client, secret, scope="iam/principals:read iam/clients:read").json()["scope"].split()) == {
        "iam/principals:read", "iam/clients:read"}
    services.update_client(owner, client.pk, properties={"scopes": ["iam/principals:read"]})
    response = token_request(client.client_id, secret, scope="iam/principals:read iam/clients:read")
    assert response.status_code == 400 and response.json()["error"] == "invalid_scope", response.content
    assert token_request(client.client_id, secret).json()["scope"] == "iam/principals:read"


def test_with_the_cache_off_every_token_request_reads_the_secret(settings):
    settings.IAM_AUTH_CACHE = {**settings.IAM_AUTH_CACHE, "ENABLED": False}
    client, secret = make_client()
    assert token_request(client.client_id, secret).status_code == 200
    with CaptureQueriesContext(connection) as queries:
        assert token_request(client.client_id, secret).status_code == 200
    assert any("clients_clientsecret" in sql for sql in client_rows_read(queries))


@pytest.mark.parametrize("change", ["suspend", "narrow"])
def test_a_change_committed_before_a_slow_fill_never_reaches_the_cache(owner, monkeypatch, change):
    """A database-path request read the client, then the client was suspended (or its grants narrowed) and the
    request stalled past the drop's refill guard before remembering it: nothing of the old client may be
    cached, or every process would issue it tokens for the snapshot's lifetime."""
    from clients import authcache as client_authcache

    client, secret = make_client(grant_types=("client_credentials", "authorization_code"),
                                 redirectUris=["https://app.example/cb"])
    real_remember = client_authcache.remember
    stalls = []

    def stalled_remember(found, value):
        if change == "suspend":
            services.set_client_suspended(owner, client.pk, True)
        else:
            services.update_client(owner, client.pk, properties={"grantTypes": ["authorization_code"]})
        stall = time_machine.travel(timezone.now() + timedelta(seconds=31), tick=True)
        stall.start()
        stalls.append(stall)
        monkeypatch.setattr(client_authcache, "remember", real_remember)
        return real_remember(found, value)

    monkeypatch.setattr(client_authcache, "remember", stalled_remember)
    try:
        assert token_request(client.client_id, secret).status_code == 200  # authenticated before the change
        answers = [token_request(client.client_id, secret) for _ in range(3)]
        assert all(answer.status_code in (400, 401) for answer in answers), [a.content for a in answers]
        expected = "invalid_client" if change == "suspend" else "unauthorized_client"
        assert {answer.json()["error"] for answer in answers} == {expected}
    finally:
        for stall in stalls:
            stall.stop()
