"""One token pipeline: /identity/token (IBM's API-key and refresh grants) and /oauth/token/ issue through the
same django-oauth-toolkit server — the same claims, the same just-in-time cap, the same token.issued event,
DOT's refresh rotation and replay protection — and neither face reaches the other's grants."""

import json
import uuid
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test import Client as HttpClient
from django.utils import timezone
from jwcrypto import jwk, jwt
from oauth2_provider.models import get_access_token_model, get_refresh_token_model, set_token_value

from audit.models import AuditEvent
from clients import services
from clients.grants import TOKEN_SERVICE_MARK, token_service_client
from ibmcloud.models import AccountSettings
from roles.choices import BindingSourceChoices
from roles.models import RoleBinding
from tests.audit.helpers import events_since, mark
from tests.conftest import make_role

from .oidc_helpers import basic, bearer_get, code_flow, make_app, refresh, signed_in

pytestmark = pytest.mark.django_db
APIKEY_GRANT = "urn:ibm:params:oauth:grant-type:apikey"
IBM_EXTRAS = {"grant_type", "account"}


def identity_token(**data):
    return HttpClient().post("/identity/token", data)


def apikey_token(value):
    return identity_token(grant_type=APIKEY_GRANT, apikey=value)


def ibm_refresh(value):
    return identity_token(grant_type="refresh_token", refresh_token=value)


def verified_claims(token):
    keys = jwk.JWKSet.from_json(HttpClient().get("/oauth/.well-known/jwks.json").content)
    return json.loads(jwt.JWT(jwt=token, key=keys, expected_type="JWS").claims)


def client_credentials(client, secret):
    return HttpClient().post("/oauth/token/", {"grant_type": "client_credentials"},
                             HTTP_AUTHORIZATION=basic(client.client_id, secret))


def jit_binding(identity, minutes=2):
    """A just-in-time grant of ``identity`` ending in ``minutes`` (the cap every token must respect)."""
    field = "principal" if identity.identity_type == "principal" else "client"
    return RoleBinding.objects.create(**{field: identity}, role=make_role(["prod/db:write"]),
                                      source=BindingSourceChoices.JIT,
                                      expires_at=timezone.now() + timedelta(minutes=minutes))


def issued_event(since):
    [event] = events_since(since, action="token.issued")
    return event


def event_shape(event):
    return (event.target_type, event.actor_type, sorted(event.details))


# --- one issuance path ----------------------------------------------------------------------------

def test_both_faces_issue_the_same_claims_the_same_jit_cap_and_the_same_audit_event():
    # A principal: its API key at /identity/token, and the authorization code flow at /oauth/token/.
    http, principal = signed_in(permissions=["iam/principals:read"])
    jit_binding(principal)
    app, app_secret = make_app()
    _, key = services.create_api_key(None, principal, "k")
    seq = mark()
    ibm_principal = apikey_token(key).json()
    ibm_principal_event = issued_event(seq)
    seq = mark()
    oauth_principal = code_flow(http, app, app_secret)
    oauth_principal_event = issued_event(seq)
    # A client: its own API key (a service ID) at /identity/token, client credentials at /oauth/token/.
    client = services.create_client(None, {"name": "job", "grantTypes": ["client_credentials"],
                                            "scopes": ["iam/principals:read"]})
    _, client_secret = services.create_secret(None, client.pk)
    _, client_key = services.create_api_key(None, client, "k")
    jit_binding(client)
    seq = mark()
    ibm_client = apikey_token(client_key).json()
    ibm_client_event = issued_event(seq)
    seq = mark()
    oauth_client = client_credentials(client, client_secret).json()
    oauth_client_event = issued_event(seq)

    claims = {name: verified_claims(body["access_token"]) for name, body in (
        ("ibm_principal", ibm_principal), ("oauth_principal", oauth_principal),
        ("ibm_client", ibm_client), ("oauth_client", oauth_client))}
    # A sign-in (the authorization code) adds how the principal authenticated; an API key has no sign-in.
    sign_in = {"auth_time", "amr", "acr"}
    assert sign_in <= set(claims["oauth_principal"]) and not sign_in & set(claims["ibm_principal"])
    assert set(claims["ibm_principal"]) - IBM_EXTRAS == set(claims["oauth_principal"]) - sign_in
    assert set(claims["ibm_client"]) - IBM_EXTRAS == set(claims["oauth_client"])
    assert set(claims["ibm_principal"]) >= IBM_EXTRAS and not IBM_EXTRAS & set(claims["oauth_client"])
    assert claims["ibm_principal"]["account"] == {"bss": AccountSettings.current().account_id}
    assert claims["ibm_principal"]["grant_type"] == APIKEY_GRANT
    for name in ("ibm_principal", "oauth_principal"):
        assert claims[name]["sub"] == str(principal.pk) and claims[name]["iam_id"] == principal.iam_id
    for name in ("ibm_client", "oauth_client"):
        assert claims[name]["sub"] == claims[name]["client_id"] == client.client_id
        assert claims[name]["iam_id"] == client.iam_id
    # The same cap: no token outlives the 2-minute grant (the default lifetime is 15 minutes).
    for name, body in (("ibm_principal", ibm_principal), ("oauth_principal", oauth_principal),
                       ("ibm_client", ibm_client), ("oauth_client", oauth_client)):
        assert 110 <= body["expires_in"] <= 120, name
        assert claims[name]["exp"] - claims[name]["iat"] == body["expires_in"], name
    assert ibm_principal["expiration"] == claims["ibm_principal"]["exp"]
    # The same event, from the same recorder.
    assert event_shape(ibm_principal_event) == event_shape(oauth_principal_event) == (
        "client", "principal", ["grantType", "refreshToken", "scope", "subject"])
    assert event_shape(ibm_client_event) == event_shape(oauth_client_event)
    assert ibm_principal_event.actor == oauth_principal_event.actor == principal.iam_id
    assert ibm_principal_event.details == {"grantType": APIKEY_GRANT, "scope": "*:*", "subject": principal.iam_id,
                                           "refreshToken": True}
    assert ibm_principal_event.target_id == str(token_service_client().pk)
    assert ibm_client_event.actor == client.iam_id and ibm_client_event.target_id == str(client.pk)
    assert ibm_client_event.details["refreshToken"] is False and ibm_client["refresh_token"] == "not_supported"


# Before the one pipeline: 10 on PostgreSQL and 12 on SQLite for a principal's key (the account read
# every time, the refresh token linked back in a third write, two savepoints), 7 and 9 for a service ID's.
# One more than the token itself: the record of what the key issued (ApiKeyIssue), so that disabling
# or deleting the key ends it. The just-in-time lifetime cap reads the engine's cached grants (one query
# fewer since).
API_KEY_TOKEN_QUERIES = {("principal", "postgresql"): 8, ("principal", "sqlite"): 10,
                         ("client", "postgresql"): 6, ("client", "sqlite"): 8}


@pytest.mark.parametrize("owner_type", ["principal", "client"])
def test_an_api_key_token_costs_a_fixed_number_of_queries(owner_type, django_assert_num_queries):
    # key (with its owner), the token service's client (a principal's key only), the earliest
    # just-in-time grant, one savepoint pair, the access token (and refresh token) insert, the
    # token.issued event (one call on PostgreSQL, three statements on SQLite). The account id is cached.
    if owner_type == "principal":
        from tests.conftest import make_principal

        owner = make_principal()
    else:
        owner = services.create_client(None, {"name": "svc", "grantTypes": [APIKEY_GRANT]})
    _, key = services.create_api_key(None, owner, "k")
    assert apikey_token(key).status_code == 200  # warm: last_used_at written, the token client exists
    with django_assert_num_queries(API_KEY_TOKEN_QUERIES[owner_type, connection.vendor]):
        assert apikey_token(key).status_code == 200


# --- refresh: DOT's grant, rotation and replay protection ---------------------------------------------

def principal_with_key():
    from tests.conftest import make_principal

    principal = make_principal(permissions=["iam/principals:read"])
    _, key = services.create_api_key(None, principal, "k")
    return principal, key


def test_a_refresh_at_the_token_service_rotates_in_one_family_and_a_replay_revokes_it():
    RefreshToken = get_refresh_token_model()
    _, key = principal_with_key()
    first = apikey_token(key).json()
    seq = mark()
    second = ibm_refresh(first["refresh_token"])
    assert second.status_code == 200 and second["Cache-Control"] == "no-store"
    second = second.json()
    assert set(second) == {"access_token", "refresh_token", "token_type", "expires_in", "expiration", "scope"}
    assert second["refresh_token"] != first["refresh_token"] and second["scope"] == "ibm openid"
    assert issued_event(seq).details["grantType"] == "refresh_token"
    assert verified_claims(second["access_token"])["grant_type"] == "refresh_token"
    # DOT's bookkeeping: the new access token names the refresh token it was exchanged for.
    old = RefreshToken.objects.get(revoked__isnull=False)
    new = RefreshToken.objects.get(revoked__isnull=True)
    assert new.token_family == old.token_family and new.access_token.source_refresh_token_id == old.pk
    assert bearer_get("/resources/me", first["access_token"]).status_code == 401  # rotated away
    assert bearer_get("/resources/me", second["access_token"]).status_code == 200
    replay = ibm_refresh(first["refresh_token"])
    assert replay.status_code == 400 and replay.json()["errorCode"] == "BXNIM0407E"
    assert not RefreshToken.objects.filter(revoked__isnull=True).exists()  # the whole family
    assert bearer_get("/resources/me", second["access_token"]).status_code == 401
    assert ibm_refresh(second["refresh_token"]).json()["errorCode"] == "BXNIM0407E"


def test_an_expired_refresh_token_is_bxnim0408e_and_an_unknown_or_missing_one_bxnim0407e():
    _, key = principal_with_key()
    first = apikey_token(key).json()
    with time_machine.travel(timezone.now() + timedelta(days=31)):
        expired = ibm_refresh(first["refresh_token"])
    assert expired.status_code == 400 and expired.json()["errorCode"] == "BXNIM0408E"
    for value in ("prt_unknown", ""):
        refused = identity_token(grant_type="refresh_token", **({"refresh_token": value} if value else {}))
        assert refused.status_code == 400 and refused.json()["errorCode"] == "BXNIM0407E"
        assert refused.json()["errors"][0]["code"] == "BXNIM0407E" and refused.json()["trace"]


def test_a_token_service_refresh_token_is_no_use_at_the_oauth_token_endpoint():
    _, key = principal_with_key()
    value = apikey_token(key).json()["refresh_token"]
    anonymous = HttpClient().post("/oauth/token/", {"grant_type": "refresh_token", "refresh_token": value})
    assert anonymous.status_code == 401 and anonymous.json()["error"] == "invalid_client"
    app, secret = make_app()
    assert refresh(app, secret, value).json()["error"] == "invalid_grant"  # another client's
    assert ibm_refresh(value).status_code == 200  # and it was not spent by those attempts


def test_a_refresh_token_stored_by_the_old_ibm_endpoint_rotates_after_the_migration():
    """The old endpoint linked the access token back to the refresh token issued with it; DOT reads
    that link as "already rotated" and would answer the deleted old token."""
    import importlib

    from django.apps import apps

    AccessToken, RefreshToken = get_access_token_model(), get_refresh_token_model()
    principal, _ = principal_with_key()
    access = AccessToken(user=principal, application=token_service_client(), scope="*:*",
                         expires=timezone.now() + timedelta(minutes=15))
    set_token_value(access, "legacy-access")
    access.save()
    # As the old endpoint stored it: a family of its own.
    legacy = RefreshToken(user=principal, application=access.application, access_token=access,
                          token_family=uuid.uuid4())
    set_token_value(legacy, "legacy-refresh-token-value")
    legacy.save()
    access.source_refresh_token = legacy
    access.save(update_fields=["source_refresh_token"])
    migration = importlib.import_module("clients.migrations.0004_token_service_refresh_pairs")
    migration.unlink_self_paired_access_tokens(apps, None)
    # ... and ties the legacy family to the principal's keys: it refreshes while they can be used.
    importlib.import_module("clients.migrations.0005_api_key_issues").tie_existing_families(apps, None)
    rotated = ibm_refresh("legacy-refresh-token-value")
    assert rotated.status_code == 200, rotated.content
    assert bearer_get("/resources/me", rotated.json()["access_token"]).status_code == 200


# --- each face offers its own grants only -------------------------------------------------------------

def test_the_oauth_token_endpoint_does_not_offer_the_api_key_grant_whatever_the_headers_say():
    _, key = principal_with_key()
    for forged in ({f"HTTP_{TOKEN_SERVICE_MARK.upper().replace('-', '_')}": "1"}, {TOKEN_SERVICE_MARK: "1"}):
        response = HttpClient().post("/oauth/token/", {"grant_type": APIKEY_GRANT, "apikey": key}, **forged)
        assert response.status_code == 400 and response.json()["error"] == "unsupported_grant_type"
    assert not get_access_token_model().objects.exists()
    assert not AuditEvent.objects.filter(action="apikey.auth_failed").exists()  # the key was never looked at


def test_the_token_service_offers_neither_client_credentials_nor_authorization_codes():
    client = services.create_client(None, {"name": "job", "grantTypes": ["client_credentials"],
                                            "scopes": ["iam/principals:read"]})
    _, secret = services.create_secret(None, client.pk)
    for grant in ("client_credentials", "authorization_code", "password"):
        response = HttpClient().post("/identity/token", {"grant_type": grant, "code": "x", "username": "a",
                                                         "password": "b"},
                                     HTTP_AUTHORIZATION=basic(client.client_id, secret))
        assert response.status_code == 400 and response.json()["errorCode"] == "BXNIM0109E", grant
    assert not get_access_token_model().objects.exists()


def test_client_credentials_sent_to_the_token_service_do_not_change_whose_token_it_is():
    principal, key = principal_with_key()
    app, secret = make_app()
    response = HttpClient().post("/identity/token", {"grant_type": APIKEY_GRANT, "apikey": key,
                                                     "client_id": app.client_id, "client_secret": secret},
                                 HTTP_AUTHORIZATION=basic(app.client_id, secret))
    claims = verified_claims(response.json()["access_token"])
    assert claims["client_id"] == token_service_client().client_id and claims["iam_id"] == principal.iam_id


# --- refresh tokens are not access tokens -----------------------------------------------------------

def test_refresh_tokens_are_opaque_so_no_resource_server_takes_one_for_an_access_token():
    http, _ = signed_in()
    app, secret = make_app()
    _, key = principal_with_key()
    for value in (code_flow(http, app, secret)["refresh_token"], apikey_token(key).json()["refresh_token"]):
        assert value.startswith("prt_") and "." not in value and len(value) >= 4 + 43
        with pytest.raises(Exception):
            verified_claims(value)
