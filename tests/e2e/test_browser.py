"""The pages in a real browser: Debian's Chromium, driven by Playwright, against the live server.

Each test fails on a console error, an uncaught script error or a Content-Security-Policy
violation (see tests/e2e/browser.py), so a page that works only for `requests` fails here.
"""

import re
import secrets
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from joserfc import jwt
from joserfc.jwk import KeySet

from clients import services
from tests.conftest import make_principal
from tests.e2e.browser import browser_page, chromium, relying_party  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
PASSWORD = "Browser-passphrase-2026"
NEW_PASSWORD = "Chosen-in-browser-2027"


def expect(page):
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(page)


def sign_in(page, email, password):
    """Fill the sign-in form by its labels, as a person would, and submit it."""
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name=re.compile("sign in|log in", re.I)).click()


def oauth_client(redirect_uri, **props):
    client = services.create_client(None, {
        "name": "Browser app", "grantTypes": ["authorization_code", "refresh_token"], "redirectUris": [redirect_uri],
        "scopes": ["openid", "email", "profile", "iam/principals:read"], **props,
    })
    _, secret = services.create_secret(None, client.pk)
    return client, secret


def start_authorization(base, client, secret):
    """An Authlib relying party: the authorization URL (PKCE S256, nonce) and what it needs afterwards."""
    config = requests.get(f"{base}/.well-known/openid-configuration", timeout=10).json()
    session = OAuth2Session(client.client_id, secret, scope="openid email profile iam/principals:read",
                            redirect_uri=client.redirect_uris.split()[0], code_challenge_method="S256")
    verifier, nonce = secrets.token_urlsafe(48), secrets.token_urlsafe(16)
    url, state = session.create_authorization_url(config["authorization_endpoint"], code_verifier=verifier,
                                                  nonce=nonce)
    return {"config": config, "session": session, "verifier": verifier, "nonce": nonce, "state": state, "url": url}


def finish_authorization(flow, callback, client, principal):
    """Exchange the code from the browser's callback and check the ID token as a strict RP would."""
    query = parse_qs(urlsplit(callback).query)
    assert query["state"] == [flow["state"]] and query["code"], callback
    config = flow["config"]
    token = flow["session"].fetch_token(config["token_endpoint"], authorization_response=callback,
                                        code_verifier=flow["verifier"])
    jwks = KeySet.import_key_set(requests.get(config["jwks_uri"], timeout=10).json())
    id_token = jwt.decode(token["id_token"], jwks, algorithms=["RS256"])
    jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": config["issuer"]}, aud={"essential": True, "value": client.client_id},
        nonce={"essential": True, "value": flow["nonce"]}, sub={"essential": True, "value": str(principal.pk)},
        exp={"essential": True},
    ).validate(id_token.claims)
    assert id_token.claims["email"] == principal.email
    return token


def consent(page, client):
    """Read the consent page and allow; the browser lands on the client's callback."""
    expect(page).to_have_url(re.compile(r"/oauth/authorize/"))
    expect(page.get_by_role("heading", name=f"Allow {client.name} to act for you?")).to_be_visible()
    expect(page.get_by_text("iam/principals:read")).to_be_visible()
    with page.expect_navigation(url=re.compile(re.escape(client.redirect_uris.split()[0]))):
        page.get_by_role("button", name="Allow").click()
    expect(page.get_by_role("heading", name="Back at the client")).to_be_visible()


# --- OAuth sign-in -----------------------------------------------------------------------------------


def test_oauth_sign_in_consent_code_and_token(browser_page, live_server, relying_party):
    page = browser_page
    principal = make_principal(email="ana@example.com", password=PASSWORD, permissions=["iam/principals:read"])
    client, secret = oauth_client(relying_party.url)
    flow = start_authorization(live_server.url, client, secret)

    page.goto(flow["url"])
    expect(page).to_have_url(re.compile(r"/oauth/login/\?next="))
    sign_in(page, principal.email, PASSWORD)
    consent(page, client)

    assert len(relying_party.seen) == 1
    token = finish_authorization(flow, relying_party.seen[0], client, principal)
    me = requests.get(f"{live_server.url}/resources/iam/principals",
                      headers={"Authorization": f"Bearer {token['access_token']}"}, timeout=10)
    assert me.status_code == 200 and principal.email in me.text
