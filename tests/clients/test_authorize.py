"""The authorization endpoint's pages: sign-in, forced password change, consent, first-party skip."""

import base64
import hashlib
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client as HttpClient

from clients import services
from tests.conftest import make_principal

pytestmark = pytest.mark.django_db
PASSWORD = "Authorize-passphrase-7"
REDIRECT = "https://app.example.com/cb"
VERIFIER = "v" * 50
CHALLENGE = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).rstrip(b"=").decode()


def authorize_params(client, scope="openid iam/principals:read"):
    return {"response_type": "code", "client_id": client.client_id, "redirect_uri": REDIRECT, "scope": scope,
            "state": "s1", "code_challenge": CHALLENGE, "code_challenge_method": "S256"}


def make_app(**props):
    return services.create_client(None, {"name": "Web", "grantTypes": ["authorization_code"],
                                         "redirectUris": [REDIRECT], "scopes": ["openid", "iam/principals:read"],
                                         **props})


def signed_in(email, **fields):
    make_principal(email=email, password=PASSWORD, **fields)
    http = HttpClient()
    response = http.post("/oauth/login/", {"username": email, "password": PASSWORD})
    return http, response


def test_anonymous_authorize_goes_to_the_accessible_login_page():
    app = make_app()
    response = HttpClient().get("/oauth/authorize/", authorize_params(app))
    assert response.status_code == 302 and response["Location"].startswith("/oauth/login/?next=")
    page = HttpClient().get(response["Location"])
    html = page.content.decode()
    assert page.status_code == 200 and '<html lang="en">' in html
    assert '<label for="id_username">' in html and '<label for="id_password">' in html
    assert "http://" not in html.split("<body>")[1] and "https://" not in html.split("<body>")[1]  # no external assets


def test_wrong_password_and_suspended_principal_cannot_sign_in():
    make_principal(email="s@example.com", password=PASSWORD, suspended=True)
    for email, password in (("s@example.com", PASSWORD), ("nobody@example.com", PASSWORD)):
        response = HttpClient().post("/oauth/login/", {"username": email, "password": password})
        assert response.status_code == 200 and b'role="alert"' in response.content


def test_consent_then_code_and_a_first_party_client_skips_consent():
    app = make_app()
    http, _ = signed_in("a@example.com")
    page = http.get("/oauth/authorize/", authorize_params(app))
    assert page.status_code == 200 and b"Allow Web to act for you?" in page.content
    assert b"iam/principals:read" in page.content
    form = {k: v for k, v in page.context["form"].initial.items() if v is not None}
    denied = http.post("/oauth/authorize/", form)  # no "allow": the principal said no
    assert denied.status_code == 302 and "error=access_denied" in denied["Location"]
    first_party = make_app(firstParty=True)
    response = http.get("/oauth/authorize/", authorize_params(first_party))
    assert response.status_code == 302
    query = parse_qs(urlsplit(response["Location"]).query)
    assert response["Location"].startswith(REDIRECT) and query["code"] and query["state"] == ["s1"]


def test_scopes_the_client_may_not_have_are_refused():
    app = make_app()
    http, _ = signed_in("b@example.com")
    response = http.get("/oauth/authorize/", authorize_params(app, scope="openid iam/roles:write"))
    assert response.status_code == 302 and "error=invalid_scope" in response["Location"]


def test_unregistered_redirect_uri_is_never_redirected_to():
    app = make_app()
    http, _ = signed_in("c@example.com")
    response = http.get("/oauth/authorize/", {**authorize_params(app), "redirect_uri": "https://evil.example.com/cb"})
    assert response.status_code == 400 and b"evil.example.com" not in response.get("Location", "").encode()


def test_a_temporary_password_must_be_changed_before_authorizing():
    app = make_app(firstParty=True)
    http, _ = signed_in("d@example.com", must_change_password=True)
    response = http.get("/oauth/authorize/", authorize_params(app))
    assert response.status_code == 302 and response["Location"].startswith("/oauth/password/?next=")
    page = http.get(response["Location"])
    assert page.status_code == 200
    done = http.post(response["Location"], {"old_password": PASSWORD, "new_password1": "Brand-new-passphrase-8",
                                            "new_password2": "Brand-new-passphrase-8",
                                            "next": page.context["next"]})
    assert done.status_code == 302 and done["Location"].startswith("/oauth/authorize/")
    final = http.get(done["Location"])
    assert final.status_code == 302 and final["Location"].startswith(REDIRECT)
