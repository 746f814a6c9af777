"""The OAuth 2.0 / OpenID Connect server as a strict relying party meets it, over real HTTP.

The relying party is Authlib's Django client — state, nonce and PKCE (S256) kept in its session, the
ID token's signature (JWKS), iss, aud, exp, nonce and at_hash checked — plus what RFC 9207 asks of a
client that Authlib leaves to the application: the authorization response's ``iss`` must equal the
discovered issuer, or the response is refused (mix-up defence).
"""

import re
import secrets
import threading
import time
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.django_client import OAuth
from authlib.integrations.requests_client import OAuth2Session
from django.test import RequestFactory

from clients import services
from principals.services import suspend_principal
from tests.conftest import make_principal, make_role

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
PASSWORD = "Strict-passphrase-2026"
REDIRECT = "http://127.0.0.1:9/callback"  # never fetched: the relying party reads the redirect itself


class MixUp(Exception):
    """RFC 9207 §2.4: an authorization response from another issuer than the one asked."""


def hidden_fields(html):
    return {name: unescape(value)
            for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html)}


def csrf(html):
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


class Browser:
    """A user's browser: signs in and allows access when the server asks, and reports where it ends."""

    def __init__(self, base):
        self.base, self.http = base, requests.Session()
        self.pages = []  # what the user was shown on the way: "login", "consent", "logout"

    def _absolute(self, url):
        return url if url.startswith("http") else self.base + url

    def sign_in(self, page, email):
        response = self.http.post(page.url, data={**hidden_fields(page.text), "csrfmiddlewaretoken": csrf(page.text),
                                                  "username": email, "password": PASSWORD},
                                  headers={"Referer": page.url}, allow_redirects=False)
        assert response.status_code == 302, response.text[:400]
        return response

    def visit(self, url, email=None, allow=True):
        """Follow ``url`` through sign-in and consent until the server sends the browser elsewhere
        than itself; returns that location (the client's redirect URI) or the last page."""
        response = self.http.get(self._absolute(url), allow_redirects=False)
        for _ in range(10):
            if response.status_code in (301, 302):
                location = response.headers["Location"]
                if not self._absolute(location).startswith(self.base):
                    return location
                response = self.http.get(self._absolute(location), allow_redirects=False)
            elif response.status_code == 200 and 'autocomplete="current-password"' in response.text:
                self.pages.append("login")
                if email is None:
                    return response
                response = self.sign_in(response, email)
            elif response.status_code == 200 and 'id="authorizationForm"' in response.text:
                self.pages.append("consent")
                data = hidden_fields(response.text)
                if allow:
                    data["allow"] = "Authorize"
                response = self.http.post(response.url, data={**data, "csrfmiddlewaretoken": csrf(response.text)},
                                          headers={"Referer": response.url}, allow_redirects=False)
            elif response.status_code == 200 and 'id="logoutForm"' in response.text:
                self.pages.append("logout")
                response = self.http.post(response.url, data={**hidden_fields(response.text), "allow": "Logout",
                                                              "csrfmiddlewaretoken": csrf(response.text)},
                                          headers={"Referer": response.url}, allow_redirects=False)
            else:
                return response
        raise AssertionError("too many steps")


class RelyingParty:
    """A web application using Authlib's Django OAuth client, discovery included."""

    def __init__(self, base, client, secret, scope="openid email profile"):
        self.base, self.client, self.secret = base, client, secret
        self.app = OAuth().register(
            f"portcullis{secrets.token_hex(4)}", client_id=client.client_id, client_secret=secret,
            server_metadata_url=f"{base}/.well-known/openid-configuration",
            client_kwargs={"scope": scope, "code_challenge_method": "S256"})
        self.session = {}  # the relying party's own session with the user
        self.factory = RequestFactory()

    @property
    def metadata(self):
        return self.app.load_server_metadata()

    def request(self, path="/", **params):
        request = self.factory.get(path, params)
        request.session = self.session
        return request

    def login_url(self, **params):
        return self.app.authorize_redirect(self.request(), REDIRECT, **params)["Location"]

    def callback(self, location):
        """The authorization response: refused unless its issuer is the discovered one (RFC 9207),
        then handed to Authlib, which checks state, exchanges the code and validates the ID token."""
        assert location.startswith(REDIRECT), location
        params = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
        assert self.metadata["authorization_response_iss_parameter_supported"] is True
        if params.get("iss") != self.metadata["issuer"]:
            raise MixUp(params.get("iss"))
        return self.app.authorize_access_token(self.request("/callback", **params))

    def session_client(self, token=None):
        return OAuth2Session(self.client.client_id, self.secret, token=token)


def make_client(first_party=False, roles=(), scopes=("openid", "email", "profile", "iam/principals:read")):
    client = services.create_client(None, {
        "name": "Strict app", "grantTypes": ["authorization_code", "refresh_token"], "redirectUris": [REDIRECT],
        "scopes": list(scopes), "firstParty": first_party}, roles=list(roles))
    _, secret = services.create_secret(None, client.pk)
    return client, secret


def test_a_strict_relying_party_signs_in_refreshes_revokes_introspects_and_logs_out(live_server):
    base = live_server.url
    principal = make_principal(email="ana@example.com", password=PASSWORD, permissions=["iam/principals:read"],
                               properties={"name": "Ana", "emailVerified": True})
    client, secret = make_client()
    rp, browser = RelyingParty(base, client, secret), Browser(base)

    documents = [requests.get(f"{base}{path}").json() for path in (
        "/.well-known/openid-configuration", "/oauth/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server/oauth", "/oauth/.well-known/oauth-authorization-server")]
    assert all(document == documents[0] for document in documents)
    assert rp.metadata["issuer"] == f"{base}/oauth"

    signed_in_at = time.time()
    token = rp.callback(browser.visit(rp.login_url(), email=principal.email))
    assert browser.pages == ["login", "consent"]
    claims = token["userinfo"]  # the ID token's claims, validated by Authlib
    assert claims["sub"] == str(principal.pk) and claims["email"] == "ana@example.com"
    assert claims["aud"] == client.client_id and claims["iss"] == rp.metadata["issuer"]
    assert int(signed_in_at) <= claims["auth_time"] <= time.time() and claims["at_hash"]
    userinfo = rp.app.userinfo(token=token)
    assert userinfo["sub"] == str(principal.pk) and userinfo["name"] == "Ana"
    assert set(claims) | set(userinfo) <= set(rp.metadata["claims_supported"])

    session = rp.session_client(token)
    refreshed = session.refresh_token(rp.metadata["token_endpoint"], refresh_token=token["refresh_token"])
    assert refreshed["access_token"] != token["access_token"] and "id_token" not in refreshed

    reader = make_role(["iam/principals:read"])
    api = services.create_client(None, {"name": "API", "grantTypes": ["client_credentials"]},
                                 roles=["system:resource-server", reader.key])
    _, api_secret = services.create_secret(None, api.pk)
    resource_server = OAuth2Session(api.client_id, api_secret)
    info = resource_server.introspect_token(rp.metadata["introspection_endpoint"],
                                            token=refreshed["access_token"]).json()
    assert info["active"] is True and info["sub"] == str(principal.pk) and info["username"] == principal.email

    session.revoke_token(rp.metadata["revocation_endpoint"], token=refreshed["access_token"],
                         token_type_hint="access_token")
    assert resource_server.introspect_token(rp.metadata["introspection_endpoint"],
                                            token=refreshed["access_token"]).json() == {"active": False}
    assert requests.get(rp.metadata["userinfo_endpoint"],
                        headers={"Authorization": f"Bearer {refreshed['access_token']}"}).status_code == 401
    keys = requests.get(rp.metadata["jwks_uri"]).json()["keys"]
    assert keys and all(key["alg"] in rp.metadata["id_token_signing_alg_values_supported"] for key in keys)

    logout = rp.app.logout_redirect(rp.request(), post_logout_redirect_uri=REDIRECT, id_token_hint=token["id_token"])
    assert logout["Location"].startswith(rp.metadata["end_session_endpoint"])
    back = browser.visit(logout["Location"])
    assert browser.pages[-1] == "logout" and back.startswith(REDIRECT)
    assert rp.app.validate_logout_response(rp.request(**{k: v[0] for k, v in parse_qs(urlsplit(back).query).items()}))
    after = browser.visit(rp.login_url())  # the server's session is over: sign in again
    assert after.status_code == 200 and browser.pages[-1] == "login"


def test_the_authorization_response_issuer_is_the_discovered_one(live_server, settings):
    """Before: ``iss`` was the site root while discovery said <site>/oauth: a strict client refused the code."""
    base = live_server.url
    principal = make_principal(email="iss@example.com", password=PASSWORD)
    client, secret = make_client(first_party=True)
    rp = RelyingParty(base, client, secret)
    location = Browser(base).visit(rp.login_url(), email=principal.email)
    assert parse_qs(urlsplit(location).query)["iss"] == [f"{base}/oauth"]
    assert rp.callback(location)["userinfo"]["sub"] == str(principal.pk)
    error = Browser(base).visit(rp.login_url(response_type="token"))
    params = parse_qs(urlsplit(error).query)
    assert params["error"] == ["unsupported_response_type"] and params["iss"] == [f"{base}/oauth"]
    assert params["state"] and "code" not in params


def test_prompt_none_prompt_login_and_max_age_with_a_strict_relying_party(live_server):
    base = live_server.url
    principal = make_principal(email="bo@example.com", password=PASSWORD)
    client, secret = make_client()
    rp, browser = RelyingParty(base, client, secret), Browser(base)

    with pytest.raises(OAuthError) as silent:  # no session: the client hears login_required, with its state
        rp.callback(browser.visit(rp.login_url(prompt="none")))
    assert silent.value.error == "login_required" and browser.pages == []

    first = rp.callback(browser.visit(rp.login_url(), email=principal.email))
    with pytest.raises(OAuthError) as consent:  # signed in, but consent is asked every time here
        rp.callback(browser.visit(rp.login_url(prompt="none")))
    assert consent.value.error == "consent_required"

    trusted, trusted_secret = make_client(first_party=True)
    silent_rp = RelyingParty(base, trusted, trusted_secret)
    seen = len(browser.pages)
    quiet = silent_rp.callback(browser.visit(silent_rp.login_url(prompt="none")))
    assert browser.pages[seen:] == [] and quiet["userinfo"]["auth_time"] == first["userinfo"]["auth_time"]

    again = silent_rp.callback(browser.visit(silent_rp.login_url(prompt="login"), email=principal.email))
    assert browser.pages[seen:] == ["login"] and again["userinfo"]["auth_time"] >= first["userinfo"]["auth_time"]

    time.sleep(2.1)
    max_aged = silent_rp.callback(browser.visit(silent_rp.login_url(max_age=2), email=principal.email))
    assert browser.pages[seen:] == ["login", "login"]
    assert time.time() - max_aged["userinfo"]["auth_time"] <= 2 + 1
    assert max_aged["userinfo"]["auth_time"] > again["userinfo"]["auth_time"]
    with pytest.raises(OAuthError) as stale:
        time.sleep(1.1)
        silent_rp.callback(browser.visit(silent_rp.login_url(prompt="none", max_age=0)))
    assert stale.value.error == "login_required"


def test_suspension_stops_every_endpoint_for_a_strict_relying_party(live_server):
    base = live_server.url
    principal = make_principal(email="cy@example.com", password=PASSWORD, permissions=["iam/principals:read"])
    client, secret = make_client(first_party=True, roles=["system:resource-server"])
    rp, browser = RelyingParty(base, client, secret), Browser(base)
    token = rp.callback(browser.visit(rp.login_url(), email=principal.email))
    session = rp.session_client(token)
    suspend_principal(None, principal.pk)
    with pytest.raises(OAuthError) as refused:
        session.refresh_token(rp.metadata["token_endpoint"], refresh_token=token["refresh_token"])
    assert refused.value.error == "invalid_grant"
    assert session.get(rp.metadata["userinfo_endpoint"]).status_code == 401
    assert session.introspect_token(rp.metadata["introspection_endpoint"],
                                    token=token["access_token"]).json() == {"active": False}
    again = browser.visit(rp.login_url())
    assert again.status_code == 200 and browser.pages[-1] == "login"  # the session no longer counts
    refused_sign_in = browser.http.post(again.url, data={**hidden_fields(again.text), "username": principal.email,
                                                         "password": PASSWORD,
                                                         "csrfmiddlewaretoken": csrf(again.text)})
    assert refused_sign_in.status_code == 200 and 'role="alert"' in refused_sign_in.text

    services.set_client_suspended(None, client.pk, True)
    raw = requests.post(rp.metadata["token_endpoint"], data={"grant_type": "refresh_token",
                                                             "refresh_token": token["refresh_token"]},
                        auth=(client.client_id, secret))
    assert raw.status_code == 401 and raw.json()["error"] == "invalid_client"
    assert raw.headers["WWW-Authenticate"].startswith("Basic")


def test_a_reused_code_revokes_its_tokens_and_a_wrong_verifier_burns_the_code(live_server):
    base = live_server.url
    principal = make_principal(email="di@example.com", password=PASSWORD, permissions=["iam/principals:read"])
    client, secret = make_client(first_party=True)
    session = OAuth2Session(client.client_id, secret, scope="openid iam/principals:read", redirect_uri=REDIRECT,
                            code_challenge_method="S256")
    browser = Browser(base)
    verifier = secrets.token_urlsafe(48)
    url, _ = session.create_authorization_url(f"{base}/oauth/authorize/", code_verifier=verifier)
    callback = browser.visit(url, email=principal.email)
    token = session.fetch_token(f"{base}/oauth/token/", authorization_response=callback, code_verifier=verifier)
    assert session.get(f"{base}/resources/me").status_code == 200
    with pytest.raises(OAuthError) as reused:
        OAuth2Session(client.client_id, secret, redirect_uri=REDIRECT).fetch_token(
            f"{base}/oauth/token/", authorization_response=callback, code_verifier=verifier)
    assert reused.value.error == "invalid_grant"
    assert requests.get(f"{base}/resources/me",
                        headers={"Authorization": f"Bearer {token['access_token']}"}).status_code == 401

    verifier = secrets.token_urlsafe(48)
    url, _ = session.create_authorization_url(f"{base}/oauth/authorize/", code_verifier=verifier)
    callback = browser.visit(url)
    for attempt in (secrets.token_urlsafe(48), verifier):
        with pytest.raises(OAuthError) as burnt:
            OAuth2Session(client.client_id, secret, redirect_uri=REDIRECT).fetch_token(
                f"{base}/oauth/token/", authorization_response=callback, code_verifier=attempt)
        assert burnt.value.error == "invalid_grant"

    plain = browser.visit(f"{base}/oauth/authorize/?response_type=code&client_id={client.client_id}"
                          f"&redirect_uri={REDIRECT}&scope=openid&state=p1&code_challenge={'x' * 43}"
                          "&code_challenge_method=plain")
    params = parse_qs(urlsplit(plain).query)
    assert params["error"] == ["invalid_request"] and params["state"] == ["p1"]


@pytest.mark.postgres
def test_two_exchanges_of_one_code_at_once_leave_no_working_token(live_server):
    """Racing exchanges: at most one gets tokens, and the other's arrival revokes them (a code used twice)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers are exercised on PostgreSQL (the SQLite test database locks whole tables)")
    base = live_server.url
    principal = make_principal(email="ed@example.com", password=PASSWORD, permissions=["iam/principals:read"])
    client, secret = make_client(first_party=True)
    verifier = secrets.token_urlsafe(48)
    session = OAuth2Session(client.client_id, secret, scope="openid iam/principals:read", redirect_uri=REDIRECT,
                            code_challenge_method="S256")
    url, _ = session.create_authorization_url(f"{base}/oauth/authorize/", code_verifier=verifier)
    code = parse_qs(urlsplit(Browser(base).visit(url, email=principal.email)).query)["code"][0]
    start, answers = threading.Barrier(2), []

    def exchange():
        start.wait()
        answers.append(requests.post(f"{base}/oauth/token/", auth=(client.client_id, secret), data={
            "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "code_verifier": verifier}))

    threads = [threading.Thread(target=exchange) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(answers) == 2 and all(a.status_code in (200, 400) for a in answers)
    assert sum(a.status_code == 200 for a in answers) <= 1
    for answer in answers:
        if answer.status_code == 200:
            value = answer.json()["access_token"]
            assert requests.get(f"{base}/resources/me", headers={"Authorization": f"Bearer {value}"}).status_code == 401
        else:
            assert answer.json()["error"] == "invalid_grant"


def test_the_token_endpoint_answers_a_strict_client_in_rfc6749_terms(live_server):
    base = live_server.url
    make_principal(email="fa@example.com", password=PASSWORD)
    client, secret = make_client()
    with pytest.raises(OAuthError) as password_grant:
        OAuth2Session(client.client_id, secret).fetch_token(f"{base}/oauth/token/", grant_type="password",
                                                            username="fa@example.com", password=PASSWORD)
    assert password_grant.value.error == "unsupported_grant_type"
    bad = requests.post(f"{base}/oauth/token/", data={"grant_type": "refresh_token", "refresh_token": "x"},
                        auth=(client.client_id, "pcs_wrong"))
    assert bad.status_code == 401 and bad.headers["WWW-Authenticate"] == 'Basic realm="portcullis"'
    missing = requests.post(f"{base}/oauth/token/", data={}, auth=(client.client_id, secret))
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"
    anonymous = requests.post(f"{base}/oauth/introspect/", data={"token": "x"})
    assert anonymous.status_code == 401 and anonymous.headers["WWW-Authenticate"].startswith("Basic")
