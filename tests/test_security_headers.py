"""Security headers and settings: Content-Security-Policy on the pages, referrer policy, HSTS and
secure cookies when DEBUG is off, and the TLS proxy header read from the environment."""

import base64
import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client as HttpClient

from clients import services
from tests.conftest import make_principal

pytestmark = pytest.mark.django_db
PASSWORD = "Headers-passphrase-26"
REDIRECT = "https://app.example.com/cb"
VERIFIER = "v" * 50
CHALLENGE = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).rstrip(b"=").decode()
ROOT = Path(__file__).resolve().parent.parent


def policy(response):
    """The Content-Security-Policy header as {directive: [sources]}."""
    header = response["Content-Security-Policy"]
    return {name: values for name, *values in (part.split() for part in header.split(";") if part.strip())}


def authorize_params(client, **extra):
    return {"response_type": "code", "client_id": client.client_id, "redirect_uri": REDIRECT,
            "scope": "openid", "state": "s", "code_challenge": CHALLENGE, "code_challenge_method": "S256", **extra}


def make_app(**props):
    return services.create_client(None, {"name": "Web", "grantTypes": ["authorization_code"],
                                         "redirectUris": [REDIRECT], "scopes": ["openid"], **props})


@pytest.mark.parametrize("path", ["/admin/login/", "/oauth/login/", "/api/docs/"])
def test_pages_carry_a_strict_content_security_policy(path):
    response = HttpClient().get(path)
    assert response.status_code == 200
    directives = policy(response)
    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"] == ["'self'"]  # no inline script anywhere, no eval
    assert directives["object-src"] == ["'none'"] and directives["base-uri"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"] and directives["form-action"] == ["'self'"]
    assert "'unsafe-inline'" not in directives["style-src"]


def test_the_sign_in_pages_inline_stylesheet_carries_the_nonce_of_its_header():
    response = HttpClient().get("/oauth/login/")
    nonces = [source for source in policy(response)["style-src"] if source.startswith("'nonce-")]
    assert len(nonces) == 1
    html = response.content.decode()
    assert f'<style nonce="{nonces[0][7:-1]}">' in html
    assert HttpClient().get("/oauth/login/")["Content-Security-Policy"] != response["Content-Security-Policy"]


def test_referrer_policy_is_same_origin_and_no_page_overrides_it():
    """`no-referrer` made Chromium post the sign-in form with `Origin: null`, which CSRF refuses."""
    response = HttpClient().get("/oauth/login/")
    assert response["Referrer-Policy"] == "same-origin"
    assert 'name="referrer"' not in response.content.decode()


def test_consent_page_may_post_on_to_the_clients_registered_redirect_uri_only():
    app = make_app()
    make_principal(email="c@example.com", password=PASSWORD)
    http = HttpClient()
    http.post("/oauth/login/", {"username": "c@example.com", "password": PASSWORD})
    consent = http.get("/oauth/authorize/", authorize_params(app))
    assert consent.status_code == 200 and b"Allow Web" in consent.content
    assert policy(consent)["form-action"] == ["'self'", "https://app.example.com"]
    refused = http.get("/oauth/authorize/", authorize_params(app, redirect_uri="https://evil.example.com/cb"))
    assert refused.status_code == 400
    assert "evil.example.com" not in refused["Content-Security-Policy"]
    assert policy(refused)["form-action"] == ["'self'"]


def test_sign_in_page_allows_the_redirect_uri_of_the_authorization_request_it_carries():
    """A first-party client skips consent: the sign-in post redirects through /oauth/authorize/ straight
    to the client, and Chromium checks form-action on each redirect."""
    from urllib.parse import urlencode

    app = make_app(firstParty=True)
    next_url = f"/oauth/authorize/?{urlencode(authorize_params(app))}"
    page = HttpClient().get("/oauth/login/", {"next": next_url})
    assert policy(page)["form-action"] == ["'self'", "https://app.example.com"]
    forged = f"/oauth/authorize/?{urlencode(authorize_params(app, redirect_uri='https://evil.example.com/'))}"
    assert policy(HttpClient().get("/oauth/login/", {"next": forged}))["form-action"] == ["'self'"]
    elsewhere = f"https://evil.example.com/oauth/authorize/?{urlencode(authorize_params(app))}"
    assert policy(HttpClient().get("/oauth/login/", {"next": elsewhere}))["form-action"] == ["'self'"]


def test_redirect_sources_ignore_what_could_break_out_of_the_header(rf):
    from iam_project.csp import _source_of

    assert _source_of("https://app.example.com:8443/cb?x=1") == "https://app.example.com:8443"
    assert _source_of("http://[::1]:8080/cb") == "http://[::1]:8080"
    assert _source_of("com.example.app:/oauth2redirect") == "com.example.app:"
    for bad in ("https://a.example.com;script-src *@x/", "https://user@a.example.com/", "ht tp://a/", "https://a b/"):
        assert _source_of(bad) is None


def test_logout_confirmation_may_post_on_to_a_registered_post_logout_redirect_uri(rf):
    from iam_project.csp import registered_redirect_sources

    app = make_app()
    app.post_logout_redirect_uris = "https://app.example.com/bye"
    app.save(update_fields=["post_logout_redirect_uris"])
    registered = rf.get("/oauth/logout/", {"post_logout_redirect_uri": "https://app.example.com/bye"})
    assert registered_redirect_sources(registered) == ["https://app.example.com"]
    with_client = rf.get("/oauth/logout/", {"post_logout_redirect_uri": "https://app.example.com/bye",
                                             "client_id": app.client_id})
    assert registered_redirect_sources(with_client) == ["https://app.example.com"]
    unknown = rf.get("/oauth/logout/", {"post_logout_redirect_uri": "https://evil.example.com/bye"})
    assert registered_redirect_sources(unknown) == []


def test_logout_confirmation_page_renders_in_the_sign_in_pages_style(settings, rf):
    """The RP-initiated logout view asks before signing out; its page is ours (no external assets, a
    "Sign out" button posting `allow`)."""
    from clients.views import RPInitiatedLogoutView

    principal = make_principal(email="l@example.com", password=PASSWORD)
    # django-oauth-toolkit reloads its settings on the change and again when the fixture undoes it.
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "OIDC_RP_INITIATED_LOGOUT_ENABLED": True}
    request = rf.get("/oauth/logout/")
    request.user = principal
    response = RPInitiatedLogoutView.as_view()(request)
    response.render()
    html = response.content.decode()
    assert response.status_code == 200 and '<html lang="en">' in html
    assert re.search(r'<button type="submit" name="allow" value="[^"]+"[^>]*>Sign out</button>', html)
    assert "http://" not in html and "https://" not in html


@pytest.mark.parametrize("secure, header", [(False, False), (True, True)])
def test_hsts_is_sent_on_https_only(settings, secure, header):
    settings.SECURE_HSTS_SECONDS = 31536000
    response = HttpClient().get("/oauth/login/", secure=secure)
    assert ("Strict-Transport-Security" in response) is header
    if header:
        assert response["Strict-Transport-Security"] == "max-age=31536000"


def test_behind_a_tls_proxy_its_header_makes_the_request_https(settings):
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    assert "Strict-Transport-Security" in HttpClient().get("/oauth/login/", HTTP_X_FORWARDED_PROTO="https")
    assert "Strict-Transport-Security" not in HttpClient().get("/oauth/login/", HTTP_X_FORWARDED_PROTO="http")


def settings_under(tmp_path, **environ):
    """The settings module's security values when loaded under ``environ`` (a fresh interpreter)."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("IAM_", "DJANGO_")) and key not in ("DEBUG", "SECRET_KEY", "ALLOWED_HOSTS")}
    env.update({"IAM_VAR_DIR": str(tmp_path), **environ})
    code = ("import json, iam_project.settings as s; print(json.dumps({k: getattr(s, k, None) for k in ("
            "'SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE', 'SECURE_HSTS_SECONDS', 'SECURE_PROXY_SSL_HEADER',"
            "'SECURE_REFERRER_POLICY')}))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    return done.returncode, (json.loads(done.stdout) if done.returncode == 0 else done.stderr)


def test_debug_off_means_secure_cookies_and_a_year_of_hsts(tmp_path):
    code, values = settings_under(tmp_path, DEBUG="0", SECRET_KEY="k" * 50, ALLOWED_HOSTS="iam.example.com")
    assert code == 0, values
    assert values["SESSION_COOKIE_SECURE"] is True and values["CSRF_COOKIE_SECURE"] is True
    assert values["SECURE_HSTS_SECONDS"] == 31536000 and values["SECURE_PROXY_SSL_HEADER"] is None
    code, values = settings_under(tmp_path, DEBUG="1")
    assert code == 0 and values["SESSION_COOKIE_SECURE"] is False and values["SECURE_HSTS_SECONDS"] == 0
    code, values = settings_under(tmp_path, DEBUG="0", SECRET_KEY="k" * 50, ALLOWED_HOSTS="localhost",
                                  IAM_SECURE_COOKIES="0")
    assert code == 0 and values["SESSION_COOKIE_SECURE"] is False and values["CSRF_COOKIE_SECURE"] is False


def test_the_tls_proxy_header_comes_from_the_environment(tmp_path):
    code, values = settings_under(tmp_path, IAM_SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto: https")
    assert code == 0 and values["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    code, error = settings_under(tmp_path, IAM_SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto")
    assert code != 0 and "IAM_SECURE_PROXY_SSL_HEADER" in error
