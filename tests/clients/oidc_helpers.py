"""Helpers for the OAuth / OpenID Connect tests that drive the server through Django's test client."""

import base64
import hashlib
import json
import secrets
from urllib.parse import parse_qs, urlsplit

from django.test import Client as HttpClient
from jwcrypto import jwk, jwt

from clients import services
from tests.conftest import make_principal

PASSWORD = "Oidc-passphrase-2026"
REDIRECT = "https://app.example.com/cb"
ISSUER = "http://testserver/oauth"


def pkce_pair():
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def make_app(grant_types=("authorization_code", "refresh_token"), scopes=("openid", "email", "profile",
                                                                           "iam/principals:read"), roles=(), **props):
    """A confidential client and one of its secrets."""
    client = services.create_client(None, {"name": "Web", "grantTypes": list(grant_types), "redirectUris": [REDIRECT],
                                           "scopes": list(scopes), **props}, roles=list(roles))
    _, secret = services.create_secret(None, client.pk)
    return client, secret


def basic(client_id, secret):
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def signed_in(email=None, **fields):
    """(test client signed in through /oauth/login/, the principal)."""
    principal = make_principal(email=email, password=PASSWORD, **fields)
    http = HttpClient()
    response = http.post("/oauth/login/", {"username": principal.email, "password": PASSWORD})
    assert response.status_code == 302, response.content[:300]
    return http, principal


def authorize_params(client, challenge, scope="openid email profile iam/principals:read", state="st-1", **extra):
    return {"response_type": "code", "client_id": client.client_id, "redirect_uri": REDIRECT, "scope": scope,
            "state": state, "code_challenge": challenge, "code_challenge_method": "S256", **extra}


def query_of(location):
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def authorize(http, client, challenge, **extra):
    """Ask for a code and allow it on the consent page; returns the redirect's query parameters."""
    params = authorize_params(client, challenge, **extra)
    page = http.get("/oauth/authorize/", params)
    if page.status_code == 200:  # the consent page
        form = {k: v for k, v in page.context["form"].initial.items() if v is not None}
        page = http.post("/oauth/authorize/", {**form, "allow": "Authorize"})
    assert page.status_code == 302 and page["Location"].startswith(REDIRECT), (page.status_code, page.get("Location"))
    return query_of(page["Location"])


def exchange(client, secret, code, verifier, redirect_uri=REDIRECT):
    return HttpClient().post("/oauth/token/", {"grant_type": "authorization_code", "code": code,
                                               "redirect_uri": redirect_uri, "code_verifier": verifier},
                             HTTP_AUTHORIZATION=basic(client.client_id, secret))


def code_flow(http, client, secret, **extra):
    """The whole authorization code flow for the signed-in test client: the token response (JSON)."""
    verifier, challenge = pkce_pair()
    code = authorize(http, client, challenge, **extra)["code"]
    response = exchange(client, secret, code, verifier)
    assert response.status_code == 200, response.content
    return response.json()


def refresh(client, secret, refresh_token):
    return HttpClient().post("/oauth/token/", {"grant_type": "refresh_token", "refresh_token": refresh_token},
                             HTTP_AUTHORIZATION=basic(client.client_id, secret))


def id_token_claims(id_token):
    keys = jwk.JWKSet.from_json(HttpClient().get("/oauth/.well-known/jwks.json").content)
    return json.loads(jwt.JWT(jwt=id_token, key=keys, expected_type="JWS").claims)


def bearer_get(path, token):
    return HttpClient().get(path, HTTP_AUTHORIZATION=f"Bearer {token}")
