"""The token endpoint: client secrets by digest, JWT access tokens, RFC 6749 errors, introspection."""

import base64
import json

import pytest
from django.contrib.auth.hashers import MD5PasswordHasher
from django.test import Client as HttpClient
from jwcrypto import jwk, jwt
from oauth2_provider.models import get_access_token_model, get_application_model

from clients import services
from tests.conftest import make_principal

pytestmark = pytest.mark.django_db
TOKEN = "/oauth/token/"


def make_client(scopes=("iam/principals:read",), roles=(), grant_types=("client_credentials",), **props):
    client = services.create_client(None, {"name": "job", "grantTypes": list(grant_types), "scopes": list(scopes),
                                           **props}, roles=roles)
    _, secret = services.create_secret(None, client.pk)
    return client, secret


def token_request(client_id, secret, basic=True, **data):
    http = HttpClient()
    body = {"grant_type": "client_credentials", **data}
    if basic:
        auth = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
        return http.post(TOKEN, body, HTTP_AUTHORIZATION=f"Basic {auth}")
    return http.post(TOKEN, {**body, "client_id": client_id, "client_secret": secret})


def jwks():
    return jwk.JWKSet.from_json(HttpClient().get("/oauth/.well-known/jwks.json").content)


def test_client_credentials_gives_a_signed_rfc9068_jwt_verifiable_from_the_jwks():
    client, secret = make_client()
    response = token_request(client.client_id, secret, scope="iam/principals:read")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 900 and "refresh_token" not in body
    verified = jwt.JWT(jwt=body["access_token"], key=jwks(), expected_type="JWS")
    header, claims = json.loads(verified.header), json.loads(verified.claims)
    assert header["alg"] == "RS256" and header["typ"] == "at+jwt" and header["kid"]
    assert claims["sub"] == claims["client_id"] == client.client_id
    assert claims["scope"] == "iam/principals:read" and claims["iss"] == "http://testserver/oauth"
    assert {"aud", "exp", "iat", "jti"} <= set(claims) and claims["exp"] - claims["iat"] == 900
    stored = get_access_token_model().objects.get()
    assert stored.token == "" and stored.token_checksum  # stored by checksum only


def test_each_live_secret_works_and_a_revoked_or_expired_one_is_invalid_client():
    from django.utils import timezone

    client, first = make_client()
    second_obj, second = services.create_secret(None, client.pk)
    assert token_request(client.client_id, first).status_code == 200
    assert token_request(client.client_id, second, basic=False).status_code == 200
    first_obj = client.secrets.exclude(pk=second_obj.pk).get()
    services.revoke_secret(None, client.pk, first_obj.pk)
    refused = token_request(client.client_id, first)
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"
    assert first not in refused.content.decode()
    second_obj.expires_at = timezone.now()
    second_obj.save()
    assert token_request(client.client_id, second).json()["error"] == "invalid_client"


@pytest.mark.parametrize("mangle", [
    lambda cid, s: (cid, s[:-1] + ("A" if s[-1] != "A" else "B")),
    lambda cid, s: (cid, ""),
    lambda cid, s: (cid, "not-our-prefix"),
    lambda cid, s: ("00000000-0000-0000-0000-000000000000", s),
])
def test_wrong_credentials_are_invalid_client_without_echoing_them(mangle):
    client, secret = make_client()
    client_id, given = mangle(client.client_id, secret)
    for basic in (True, False):
        response = token_request(client_id, given, basic=basic)
        assert response.status_code == 401 and response.json()["error"] == "invalid_client"
        assert (not given) or given not in response.content.decode()
    assert not get_access_token_model().objects.exists()


def test_malformed_basic_auth_is_invalid_client_not_500():
    response = HttpClient().post(TOKEN, {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION="Basic %%%")
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


def test_rfc6749_errors():
    client, secret = make_client()
    scope = token_request(client.client_id, secret, scope="iam/roles:write")
    assert scope.status_code == 400 and scope.json()["error"] == "invalid_scope"
    grant = token_request(client.client_id, secret, grant_type="password", username="a", password="b")
    assert grant.status_code == 400 and grant.json()["error"] == "unsupported_grant_type"  # not offered
    # The client may use client_credentials only: other grants are unauthorized_client, code or not.
    code = token_request(client.client_id, secret, grant_type="authorization_code", code="nope",
                         redirect_uri="https://x.example.com/cb", code_verifier="v" * 43)
    assert code.status_code == 400 and code.json()["error"] == "unauthorized_client"
    refresh = token_request(client.client_id, secret, grant_type="refresh_token", refresh_token="nope")
    assert refresh.status_code == 400 and refresh.json()["error"] == "unauthorized_client"
    junk = HttpClient().post(TOKEN, {"grant_type": "nonsense"})
    assert junk.status_code == 400 and junk.json()["error"] == "unsupported_grant_type"
    missing = HttpClient().post(TOKEN, {})
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"


def test_suspended_client_gets_no_token_and_its_tokens_stop():
    client, secret = make_client(roles=[])
    token = token_request(client.client_id, secret).json()["access_token"]
    services.set_client_suspended(None, client.pk, True)
    assert token_request(client.client_id, secret).json()["error"] == "invalid_client"
    assert HttpClient().get("/resources/me", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 401


def test_no_password_hasher_runs_on_the_token_endpoint(monkeypatch):
    client, secret = make_client()

    def forbidden(*args, **kwargs):
        raise AssertionError("a password hasher ran for a client secret")

    for name in ("verify", "encode", "safe_summary", "must_update"):
        monkeypatch.setattr(MD5PasswordHasher, name, forbidden)
    assert token_request(client.client_id, secret).status_code == 200
    assert token_request(client.client_id, secret + "x").status_code == 401


def test_issuing_a_client_credentials_token_costs_a_fixed_number_of_queries(django_assert_num_queries):
    client, secret = make_client()
    token_request(client.client_id, secret)  # warm: last_used_at written, the secret remembered, lanes exist
    # the secret and its client from the cache (clients.authcache: no query once the database accepted
    # it), one savepoint pair (the validator's, around DOT's storing), the token insert, the token.issued
    # event (one call on PostgreSQL, three statements on SQLite). The just-in-time lifetime cap reads the
    # engine's cached grants (no query when warm); DOT's re-reading of the token for its app_authorized
    # signal is skipped while nothing listens to it. Before: 7 on PostgreSQL (client, digests and the cap
    # apart), then 5 (the secret with its client in one query).
    with django_assert_num_queries(EXPECTED_TOKEN_QUERIES[connection_vendor()]):
        assert token_request(client.client_id, secret).status_code == 200


def connection_vendor():
    from django.db import connection

    return connection.vendor


EXPECTED_TOKEN_QUERIES = {"sqlite": 6, "postgresql": 4}


def test_a_listener_of_app_authorized_still_gets_the_stored_token():
    from oauth2_provider.signals import app_authorized

    client, secret = make_client()
    seen = []

    def listener(sender, request, token, **kwargs):
        seen.append(token)

    app_authorized.connect(listener)
    try:
        issued = token_request(client.client_id, secret)
    finally:
        app_authorized.disconnect(listener)
    assert issued.status_code == 200 and len(seen) == 1 and seen[0].application_id == client.pk


def test_a_token_from_this_server_authenticates_the_api_capped_by_its_scopes():
    reader_client, secret = make_client(scopes=("iam/principals:read", "iam/roles:read"),
                                        roles=[])
    from roles.services import bind_role
    from tests.conftest import make_role

    bind_role(None, reader_client, make_role(["iam/principals:read", "iam/roles:read"]))
    narrow = token_request(reader_client.client_id, secret, scope="iam/roles:read").json()["access_token"]
    wide = token_request(reader_client.client_id, secret,
                         scope="iam/principals:read iam/roles:read").json()["access_token"]
    http = HttpClient()
    assert http.get("/resources/iam/principals", HTTP_AUTHORIZATION=f"Bearer {wide}").status_code == 200
    refused = http.get("/resources/iam/principals", HTTP_AUTHORIZATION=f"Bearer {narrow}")
    assert refused.status_code == 403  # the identity holds it, the token's scopes do not
    assert http.get("/resources/iam/roles", HTTP_AUTHORIZATION=f"Bearer {narrow}").status_code == 200
    me = http.get("/resources/me", HTTP_AUTHORIZATION=f"Bearer {narrow}").json()
    assert me["iamId"] == reader_client.iam_id


def test_introspection_follows_revocation_suspension_and_deletion():
    resource_server, rs_secret = make_client(scopes=(), roles=["system:resource-server"])
    client, secret = make_client()
    auth = "Basic " + base64.b64encode(f"{resource_server.client_id}:{rs_secret}".encode()).decode()

    def introspect(token):
        return HttpClient().post("/oauth/introspect/", {"token": token}, HTTP_AUTHORIZATION=auth).json()

    token = token_request(client.client_id, secret).json()["access_token"]
    info = introspect(token)
    assert info["active"] is True and info["client_id"] == client.client_id
    assert "iam_id" not in info and "permissions" not in info  # another client's: the caller may not read clients
    assert info["scope"] == "iam/principals:read" and info["token_type"] == "Bearer"
    services.set_client_suspended(None, client.pk, True)
    assert introspect(token) == {"active": False}
    services.set_client_suspended(None, client.pk, False)
    assert introspect(token) == {"active": False}  # suspension revoked it: restoring the client does not revive it
    token = token_request(client.client_id, secret).json()["access_token"]
    assert introspect(token)["active"] is True
    HttpClient().post("/oauth/revoke_token/", {"token": token},
                      HTTP_AUTHORIZATION="Basic " + base64.b64encode(f"{client.client_id}:{secret}".encode()).decode())
    assert introspect(token) == {"active": False}
    token = token_request(client.client_id, secret).json()["access_token"]
    services.delete_client(None, client.pk)
    assert introspect(token) == {"active": False}
    assert introspect("garbage") == {"active": False}
    anonymous = HttpClient().post("/oauth/introspect/", {"token": token})
    assert anonymous.status_code == 401 and anonymous.json()["error"] == "invalid_client"
    assert anonymous["WWW-Authenticate"].startswith("Basic")


def test_discovery_and_jwks():
    config = HttpClient().get("/.well-known/openid-configuration").json()
    assert config["issuer"] == "http://testserver/oauth"
    assert config["code_challenge_methods_supported"] == ["S256"]
    assert config["response_types_supported"] == ["code"]
    assert config["id_token_signing_alg_values_supported"] == ["RS256"]
    keys = HttpClient().get(config["jwks_uri"].replace("http://testserver", "")).json()["keys"]
    assert keys and all(k["kty"] == "RSA" and "d" not in k for k in keys)


def test_signing_key_rotation_keeps_the_previous_key_in_the_jwks(tmp_path, settings):
    from django.core.management import call_command
    from oauth2_provider.settings import oauth2_settings

    from iam_project.signing import load_keys

    settings.VAR_DIR = tmp_path
    first, previous = load_keys(tmp_path, environ={})
    assert previous == []
    call_command("rotatesigningkey", stdout=open(tmp_path / "out", "w"))
    current, previous = load_keys(tmp_path, environ={})
    assert previous == [first] and current != first
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "OIDC_RSA_PRIVATE_KEY": current,
                                "OIDC_RSA_PRIVATE_KEYS_INACTIVE": previous}
    try:
        kids = [k["kid"] for k in HttpClient().get("/oauth/.well-known/jwks.json").json()["keys"]]
        assert kids == [jwk.JWK.from_pem(current.encode()).thumbprint(), jwk.JWK.from_pem(first.encode()).thumbprint()]
        client, secret = make_client()
        token = token_request(client.client_id, secret).json()["access_token"]
        verified = jwt.JWT(jwt=token, key=jwks(), expected_type="JWS")
        assert json.loads(verified.header)["kid"] == kids[0]
    finally:
        oauth2_settings.reload()


def test_one_query_finds_the_secret_and_its_client_but_never_another_clients():
    """The secret is looked up by its digest with its client: a secret of client A presented under client B's
    id, an expired secret or a suspended client's secret authenticates nothing (and the refusal is audited
    by the full path)."""
    from datetime import timedelta

    from django.utils import timezone

    from audit.models import AuditEvent
    from clients.models import ClientSecret

    first, first_secret = make_client()
    second, _ = make_client()
    assert token_request(first.client_id, first_secret).status_code == 200
    assert token_request(second.client_id, first_secret).status_code == 401
    assert AuditEvent.objects.filter(action="client.auth_failed", details__clientId=second.client_id,
                                     details__reason="invalid_secret").exists()
    services.set_client_suspended(None, first.pk, True)
    assert token_request(first.client_id, first_secret).status_code == 401
    services.set_client_suspended(None, first.pk, False)
    ClientSecret.objects.filter(client=first).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert token_request(first.client_id, first_secret).status_code == 401
