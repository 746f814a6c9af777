"""The OAuth 2.0 / OpenID Connect server driven over real HTTP by a third-party client library (Authlib)."""

import re
from html import unescape
import secrets

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from joserfc import jwt
from joserfc.jwk import KeySet
from authlib.integrations.base_client.errors import OAuthError as OAuth2Error

from clients import services
from tests.conftest import make_principal, make_role

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
PASSWORD = "Flow-passphrase-2026"
REDIRECT = "http://127.0.0.1:9/callback"  # never fetched: the test reads the redirect itself


def hidden_fields(html):
    """The hidden inputs of a page, decoded as a browser would."""
    return {name: unescape(value)
            for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html)}


def csrf(html):
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


def sign_in_and_consent(base, authorize_url, email):
    """A browser: follows the authorization request through the login and consent pages."""
    browser = requests.Session()
    response = browser.get(authorize_url, allow_redirects=False)
    assert response.status_code == 302 and "/oauth/login/" in response.headers["Location"]
    login_page = browser.get(base + response.headers["Location"])
    assert login_page.status_code == 200 and 'autocomplete="current-password"' in login_page.text
    form = hidden_fields(login_page.text)
    response = browser.post(login_page.url, data={**form, "csrfmiddlewaretoken": csrf(login_page.text),
                                                  "username": email, "password": PASSWORD},
                            headers={"Referer": login_page.url}, allow_redirects=False)
    assert response.status_code == 302, response.text[:500]
    consent = browser.get(base + response.headers["Location"])
    assert consent.status_code == 200 and "Allow" in consent.text and "iam/principals:read" in consent.text, consent.text[-900:]
    fields = hidden_fields(consent.text)
    response = browser.post(consent.url, data={**fields, "allow": "Authorize"},
                            headers={"Referer": consent.url}, allow_redirects=False)
    assert response.status_code == 302 and response.headers["Location"].startswith(REDIRECT)
    return response.headers["Location"]


def test_authorization_code_with_pkce_refresh_rotation_reuse_revocation_and_introspection(live_server):
    base = live_server.url
    principal = make_principal(email="ana@example.com", password=PASSWORD, permissions=["iam/principals:read"],
                               properties={"name": "Ana Example", "emailVerified": True})
    client = services.create_client(None, {
        "name": "Web app", "grantTypes": ["authorization_code", "refresh_token"], "redirectUris": [REDIRECT],
        "scopes": ["openid", "email", "profile", "iam/principals:read"],
    })
    _, client_secret = services.create_secret(None, client.pk)
    # A resource server introspects (system:resource-server) and may read principals, so it sees whose token it is.
    reader = make_role(["iam/principals:read"])
    resource_server = services.create_client(None, {"name": "API", "grantTypes": ["client_credentials"]},
                                             roles=["system:resource-server", reader.key])
    _, rs_secret = services.create_secret(None, resource_server.pk)

    config = requests.get(f"{base}/.well-known/openid-configuration").json()
    assert config["issuer"] == f"{base}/oauth"
    jwks = KeySet.import_key_set(requests.get(config["jwks_uri"]).json())

    session = OAuth2Session(client.client_id, client_secret, scope="openid email profile iam/principals:read",
                            redirect_uri=REDIRECT, code_challenge_method="S256")
    verifier = secrets.token_urlsafe(48)
    nonce = secrets.token_urlsafe(16)
    authorize_url, state = session.create_authorization_url(config["authorization_endpoint"],
                                                            code_verifier=verifier, nonce=nonce)
    assert "code_challenge=" in authorize_url
    callback = sign_in_and_consent(base, authorize_url, principal.email)
    assert f"state={state}" in callback and "iss=" in callback  # RFC 9207 issuer in the response

    token = session.fetch_token(config["token_endpoint"], authorization_response=callback, code_verifier=verifier)
    assert {"access_token", "refresh_token", "id_token"} <= set(token)

    id_token = jwt.decode(token["id_token"], jwks, algorithms=["RS256"])  # the signature, from the JWKS alone
    jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": config["issuer"]}, aud={"essential": True, "value": client.client_id},
        nonce={"essential": True, "value": nonce}, exp={"essential": True},
    ).validate(id_token.claims)
    claims = id_token.claims
    assert claims["sub"] == str(principal.pk) and claims["email"] == "ana@example.com"
    assert claims["email_verified"] is True and claims["name"] == "Ana Example"

    access = jwt.decode(token["access_token"], jwks, algorithms=["RS256"])
    jwt.JWTClaimsRegistry(iss={"essential": True, "value": config["issuer"]}, exp={"essential": True},
                          jti={"essential": True}, client_id={"essential": True}).validate(access.claims)
    assert access.header["typ"] == "at+jwt" and access.claims["sub"] == str(principal.pk)
    assert access.claims["client_id"] == client.client_id and "iam/principals:read" in access.claims["scope"].split()

    userinfo = session.get(config["userinfo_endpoint"]).json()
    assert userinfo["sub"] == str(principal.pk) and userinfo["email"] == "ana@example.com"
    listed = session.get(f"{base}/resources/iam/principals")
    assert listed.status_code == 200 and principal.email in listed.text
    assert session.get(f"{base}/resources/iam/roles").status_code == 403  # not in the token's scopes
    id_as_bearer = requests.get(f"{base}/resources/me", headers={"Authorization": f"Bearer {token['id_token']}"})
    assert id_as_bearer.status_code == 401  # an ID token is not an access token

    first_refresh = token["refresh_token"]
    rotated = session.refresh_token(config["token_endpoint"], refresh_token=first_refresh)
    assert rotated["refresh_token"] != first_refresh and rotated["access_token"] != token["access_token"]

    introspector = OAuth2Session(resource_server.client_id, rs_secret)
    introspect_url = f"{base}/oauth/introspect/"

    def introspect(value):
        return introspector.introspect_token(introspect_url, token=value).json()

    assert introspect(rotated["access_token"])["active"] is True
    assert introspect(rotated["access_token"])["sub"] == str(principal.pk)
    session.revoke_token(f"{base}/oauth/revoke_token/", token=rotated["access_token"],
                         token_type_hint="access_token")
    assert introspect(rotated["access_token"]) == {"active": False}
    assert session.get(f"{base}/resources/me").status_code == 401

    with pytest.raises(OAuth2Error) as replay:
        session.refresh_token(config["token_endpoint"], refresh_token=first_refresh)
    assert replay.value.error == "invalid_grant"
    with pytest.raises(OAuth2Error) as family:  # the replay revoked the whole family
        session.refresh_token(config["token_endpoint"], refresh_token=rotated["refresh_token"])
    assert family.value.error == "invalid_grant"


def test_suspension_ends_introspection_at_once(live_server):
    base = live_server.url
    principal = make_principal(email="bo@example.com", password=PASSWORD, permissions=["iam/principals:read"])
    client = services.create_client(None, {"name": "App", "grantTypes": ["authorization_code"],
                                           "redirectUris": [REDIRECT], "scopes": ["openid", "iam/principals:read"]},
                                    roles=["system:resource-server"])  # it introspects its own tokens
    _, client_secret = services.create_secret(None, client.pk)
    session = OAuth2Session(client.client_id, client_secret, scope="openid iam/principals:read",
                            redirect_uri=REDIRECT, code_challenge_method="S256")
    verifier = secrets.token_urlsafe(48)
    url, _ = session.create_authorization_url(f"{base}/oauth/authorize/", code_verifier=verifier)
    token = session.fetch_token(f"{base}/oauth/token/", authorization_response=sign_in_and_consent(base, url, principal.email),
                                code_verifier=verifier)
    assert "refresh_token" not in token  # the client is not allowed refresh tokens
    introspector = OAuth2Session(client.client_id, client_secret)
    assert introspector.introspect_token(f"{base}/oauth/introspect/", token=token["access_token"]).json()["active"]
    from principals.services import suspend_principal

    suspend_principal(None, principal.pk)
    assert introspector.introspect_token(f"{base}/oauth/introspect/",
                                         token=token["access_token"]).json() == {"active": False}
    assert session.get(f"{base}/resources/iam/principals").status_code == 401


def test_pkce_is_required_and_plain_is_refused(live_server):
    base = live_server.url
    make_principal(email="cy@example.com", password=PASSWORD)
    client = services.create_client(None, {"name": "App", "grantTypes": ["authorization_code"],
                                           "redirectUris": [REDIRECT], "scopes": ["openid"]})
    browser = requests.Session()
    common = {"response_type": "code", "client_id": client.client_id, "redirect_uri": REDIRECT, "scope": "openid"}
    for extra in ({}, {"code_challenge": "x" * 43, "code_challenge_method": "plain"}):
        response = browser.get(f"{base}/oauth/authorize/", params={**common, **extra}, allow_redirects=False)
        location = response.headers.get("Location", "")
        # Refused before any page (no sign-in page first): an error redirect to the client.
        assert response.status_code == 302 and location.startswith(REDIRECT), location
        assert "code=" not in location and "error=invalid_request" in location


def test_client_credentials_with_two_live_secrets_then_a_revoked_one(live_server):
    base = live_server.url
    client = services.create_client(None, {"name": "Job", "grantTypes": ["client_credentials"],
                                           "scopes": ["iam/principals:read"]})
    first, first_value = services.create_secret(None, client.pk)
    _, second_value = services.create_secret(None, client.pk)
    for value in (first_value, second_value):
        token = OAuth2Session(client.client_id, value, scope="iam/principals:read").fetch_token(
            f"{base}/oauth/token/", grant_type="client_credentials")
        assert token["token_type"] == "Bearer" and "refresh_token" not in token
    services.revoke_secret(None, client.pk, first.pk)
    with pytest.raises(OAuth2Error) as refused:
        OAuth2Session(client.client_id, first_value).fetch_token(f"{base}/oauth/token/", grant_type="client_credentials")
    assert refused.value.error == "invalid_client"
    raw = requests.post(f"{base}/oauth/token/", data={"grant_type": "client_credentials"},
                        auth=(client.client_id, first_value))
    assert raw.status_code == 401 and raw.json()["error"] == "invalid_client" and first_value not in raw.text
