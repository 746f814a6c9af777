"""Query budgets of the hot paths: a warm POST /resources/iam/authorize costs no query, bearer token included,
and the cache never keeps a revoked token, a suspended or deleted identity working."""

import pytest
from django.test import Client as HttpClient
from oauth2_provider.models import get_access_token_model

from clients import services as client_services
from principals import services as principal_services
from roles import services as role_services
from tests.conftest import make_principal, make_role

pytestmark = pytest.mark.django_db

AUTHORIZE = "/resources/iam/authorize"


def client_token(scopes=("iam/authorize:read",), permissions=("iam/authorize:read",)):
    """A client holding ``permissions`` and a signed access token (JWT) from the client-credentials grant."""
    from roles.models import RoleBinding

    client = client_services.create_client(None, {"name": "checker", "grantTypes": ["client_credentials"],
                                                  "scopes": list(scopes)})
    RoleBinding.objects.create(client=client, role=make_role(permissions))
    _, secret = client_services.create_secret(None, client.pk)
    issued = HttpClient().post("/oauth/token/", {"grant_type": "client_credentials", "client_id": client.client_id,
                                                 "client_secret": secret, "scope": " ".join(scopes)})
    assert issued.status_code == 200, issued.content
    return client, issued.json()["access_token"]


def check(token, iam_id, permission="orders/items:read"):
    return HttpClient().post(AUTHORIZE, {"iamId": iam_id, "permission": permission},
                             content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}")


@pytest.fixture
def subject():
    return make_principal(permissions=["orders/items:read"])


def test_warm_authorize_costs_no_query(subject, django_assert_num_queries):
    _, token = client_token()
    assert token.count(".") == 2  # a signed JWT
    assert check(token, subject.iam_id).json()["allowed"] is True  # cold: fills the caches
    with django_assert_num_queries(0):
        allowed = check(token, subject.iam_id)
        denied = check(token, subject.iam_id, "orders/items:delete")
    assert allowed.status_code == 200 and allowed.json()["allowed"] is True
    assert denied.status_code == 200 and denied.json()["allowed"] is False


def test_a_revoked_token_is_refused_on_the_next_request(subject):
    client, token = client_token()
    assert check(token, subject.iam_id).status_code == 200
    from clients.revocation import revoke_tokens

    revoke_tokens(client, "test")
    assert check(token, subject.iam_id).status_code == 401


def test_a_token_revoked_at_the_revocation_endpoint_is_refused(subject):
    client, token = client_token()
    _, secret = client_services.create_secret(None, client.pk)
    assert check(token, subject.iam_id).status_code == 200
    revoked = HttpClient().post("/oauth/revoke_token/", {"token": token, "client_id": client.client_id,
                                                         "client_secret": secret})
    assert revoked.status_code == 200
    assert not get_access_token_model().objects.exists()
    assert check(token, subject.iam_id).status_code == 401


def test_a_suspended_client_is_refused_on_the_next_request(subject, owner):
    client, token = client_token()
    assert check(token, subject.iam_id).status_code == 200
    client_services.set_client_suspended(owner, client.pk, True)
    assert check(token, subject.iam_id).status_code == 401


def test_a_suspended_subject_is_refused_at_once(subject, owner):
    _, token = client_token()
    assert check(token, subject.iam_id).json()["allowed"] is True
    principal_services.suspend_principal(owner, subject.pk)
    answer = check(token, subject.iam_id).json()
    assert answer["allowed"] is False and "suspended" in answer["reason"]


def test_a_deleted_subject_is_unknown_at_once(subject, owner):
    _, token = client_token()
    assert check(token, subject.iam_id).json()["allowed"] is True
    iam_id = subject.iam_id
    principal_services.delete_principal(owner, subject.pk)
    assert check(token, iam_id).json() == {"allowed": False, "reason": "no such identity", "role": None,
                                           "binding": None}


def test_a_removed_binding_stops_allowing_at_once(owner):
    subject = make_principal()
    role = make_role(["orders/items:read"])
    binding = role_services.bind_role(owner, subject, role)
    _, token = client_token()
    assert check(token, subject.iam_id).json()["allowed"] is True
    role_services.remove_binding(owner, binding)
    assert check(token, subject.iam_id).json()["allowed"] is False


def test_a_suspended_principals_own_token_is_refused(owner, subject):
    """The principal's token (as userinfo and every resource see it) stops at once: its row is deleted and
    the cache's entry is replaced by a tombstone, whatever was cached before."""
    from datetime import timedelta

    from django.utils import timezone
    from oauth2_provider.models import get_application_model

    app = get_application_model().objects.create(name="app", client_type="confidential",
                                                 grant_types=["client_credentials"], scopes=["*:*"])
    get_access_token_model().objects.create(user=subject, application=app, token="opaque-token-value-1",
                                            scope="iam/authorize:read", expires=timezone.now() + timedelta(minutes=5))
    api = HttpClient()
    me = api.get("/resources/me", HTTP_AUTHORIZATION="Bearer opaque-token-value-1")
    assert me.status_code == 200
    principal_services.suspend_principal(owner, subject.pk)
    assert api.get("/resources/me", HTTP_AUTHORIZATION="Bearer opaque-token-value-1").status_code == 401


def test_the_cached_token_carries_its_value_and_claims_without_a_query(subject, django_assert_num_queries):
    """The access context reads the JWT's claims from the token: on the warm path that costs no query."""
    import json
    from base64 import urlsafe_b64decode

    from iam_project import authcache

    _, token = client_token()
    check(token, subject.iam_id)
    with django_assert_num_queries(0):
        _, cached = authcache.cached_token(token)
        payload = cached.token.split(".")[1]
        claims = json.loads(urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert cached.token == token and claims["client_id"] == cached.application.client_id


INTROSPECT = "/oauth/introspect/"


def introspect(caller, secret, token):
    from base64 import b64encode

    basic = "Basic " + b64encode(f"{caller.client_id}:{secret}".encode()).decode()
    return HttpClient().post(INTROSPECT, {"token": token}, HTTP_AUTHORIZATION=basic)


@pytest.fixture
def resource_server():
    """A client allowed to introspect tokens and read clients, with its secret."""
    from roles.models import RoleBinding

    caller = client_services.create_client(None, {"name": "resource server", "grantTypes": ["client_credentials"],
                                                  "scopes": ["oauth/introspect:read"]})
    RoleBinding.objects.create(client=caller, role=make_role(["oauth/introspect:read", "iam/clients:read"]))
    _, secret = client_services.create_secret(None, caller.pk)
    return caller, secret


def access_token_reads(queries):
    table = get_access_token_model()._meta.db_table
    return [q["sql"] for q in queries if q["sql"].startswith("SELECT") and f'FROM "{table}"' in q["sql"]]


def test_warm_introspection_reads_the_token_from_the_cache(resource_server):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    caller, secret = resource_server
    client, token = client_token()
    cold = introspect(caller, secret, token).json()
    assert cold["active"] is True
    with CaptureQueriesContext(connection) as queries:
        warm = introspect(caller, secret, token).json()
    assert access_token_reads(queries) == []
    assert warm == cold and warm["client_id"] == client.client_id and warm["iam_id"] == client.iam_id
    assert {"exp", "iat", "scope", "permissions"} <= set(warm)


def test_introspection_of_a_revoked_token_is_inactive_on_the_next_request(resource_server):
    from clients.revocation import revoke_tokens

    caller, secret = resource_server
    client, token = client_token()
    assert introspect(caller, secret, token).json()["active"] is True
    assert introspect(caller, secret, token).json()["active"] is True  # served from the cache
    revoke_tokens(client, "test")
    assert introspect(caller, secret, token).json() == {"active": False}


def test_introspection_of_a_suspended_clients_token_is_inactive_at_once(resource_server, owner):
    caller, secret = resource_server
    client, token = client_token()
    assert introspect(caller, secret, token).json()["active"] is True
    assert introspect(caller, secret, token).json()["active"] is True
    client_services.set_client_suspended(owner, client.pk, True)
    assert introspect(caller, secret, token).json() == {"active": False}
    client_services.set_client_suspended(owner, client.pk, False)
    # Suspension deleted the token's row: it stays inactive, cache or not.
    assert introspect(caller, secret, token).json() == {"active": False}


def test_a_jwt_verified_once_is_still_refused_once_expired(subject):
    """The signature is remembered per process; the expiry is not: a JWT past its exp (and jwcrypto's
    leeway) is refused by the warm path even though its signature was verified before."""
    import datetime

    import time_machine

    from iam_project import authcache

    _, token = client_token()
    checksum = authcache.checksum_of(token)
    assert authcache._verify_jwt(token, checksum) is True
    assert checksum in authcache._verified
    with time_machine.travel(datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=6)):
        assert authcache._verify_jwt(token, checksum) is False
        assert check(token, subject.iam_id).status_code == 401


def test_a_forged_jwt_is_refused_even_beside_a_verified_one(subject):
    """What is remembered is keyed by the whole token's checksum: another signature over the same claims
    is verified afresh, and fails."""
    from iam_project import authcache

    _, token = client_token()
    assert check(token, subject.iam_id).status_code == 200
    head, body, signature = token.split(".")
    forged = f"{head}.{body}.{signature[:-4]}AAAA"
    assert authcache._verify_jwt(forged, authcache.checksum_of(forged)) is False
    assert check(forged, subject.iam_id).status_code == 401
