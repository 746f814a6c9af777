"""amr/acr as a strict OpenID Connect relying party (Authlib, over real HTTP) sees them: in the ID token, at
introspection and in the access token; ``acr_values`` asks for a second factor (the user is sent to verify
one) or, when the sign-in cannot meet it, the client hears ``unmet_authentication_requirements``."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session

from clients import services
from iam_project.stepup import ACR_MFA, ACR_PASSWORD, token_claims
from tests.conftest import make_principal, make_role
from tests.e2e.test_oauth_strict import PASSWORD, Browser, RelyingParty, csrf, make_client

from .helpers import code, enrol_totp

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


class BrowserWithApp(Browser):
    """A user who types the code their authenticator app shows when the server asks for one."""

    def __init__(self, base, device=None):
        super().__init__(base)
        self.device = device

    def visit(self, url, email=None, allow=True):
        response = super().visit(url, email=email, allow=allow)
        for _ in range(3):
            if getattr(response, "status_code", None) != 200 or 'autocomplete="one-time-code"' not in response.text:
                return response
            self.pages.append("second factor")
            next_url = re.search(r'name="next" value="([^"]*)"', response.text).group(1).replace("&amp;", "&")
            answer = self.http.post(response.url, data={"code": code(self.device), "next": next_url,
                                                        "csrfmiddlewaretoken": csrf(response.text)},
                                    headers={"Referer": response.url}, allow_redirects=False)
            assert answer.status_code == 302, answer.text[:300]
            response = super().visit(answer.headers["Location"], email=email, allow=allow)
        return response


def resource_server():
    reader = make_role(["iam/principals:read"])
    api = services.create_client(None, {"name": "API", "grantTypes": ["client_credentials"]},
                                 roles=["system:resource-server", reader.key])
    _, secret = services.create_secret(None, api.pk)
    return OAuth2Session(api.client_id, secret)


def test_the_id_token_introspection_and_access_token_say_how_the_user_signed_in(live_server):
    base = live_server.url
    principal = make_principal(email="mia@example.com", password=PASSWORD, permissions=["iam/principals:read"])
    device = enrol_totp(principal)
    client, secret = make_client()
    rp, browser = RelyingParty(base, client, secret), BrowserWithApp(base, device)
    assert set(rp.metadata["acr_values_supported"]) == {ACR_PASSWORD, ACR_MFA}
    assert {"amr", "acr"} <= set(rp.metadata["claims_supported"])

    token = rp.callback(browser.visit(rp.login_url(), email=principal.email))
    assert browser.pages == ["login", "second factor", "consent"]
    claims = token["userinfo"]  # validated by Authlib
    assert claims["amr"] == ["pwd", "otp", "mfa"] and claims["acr"] == ACR_MFA
    access = token_claims(token["access_token"])
    assert access["amr"] == claims["amr"] and access["acr"] == ACR_MFA and access["auth_time"] == claims["auth_time"]
    info = resource_server().introspect_token(rp.metadata["introspection_endpoint"],
                                              token=token["access_token"]).json()
    assert info["active"] and info["amr"] == claims["amr"] and info["acr"] == ACR_MFA


def test_acr_values_sends_a_password_only_session_to_verify_or_answers_unmet(live_server):
    base = live_server.url
    principal = make_principal(email="noa@example.com", password=PASSWORD)
    client, secret = make_client()
    rp, browser = RelyingParty(base, client, secret), BrowserWithApp(base)

    token = rp.callback(browser.visit(rp.login_url(), email=principal.email))
    assert token["userinfo"]["amr"] == ["pwd"] and token["userinfo"]["acr"] == ACR_PASSWORD

    # The session has a password only and the principal no second factor: the client is told.
    location = browser.visit(rp.login_url(acr_values=ACR_MFA))
    error = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    assert error["error"] == "unmet_authentication_requirements" and error["iss"] == rp.metadata["issuer"]
    with pytest.raises(OAuthError) as refused:
        rp.callback(location)
    assert refused.value.error == "unmet_authentication_requirements"

    # Once the principal has an app, the same request asks for its code and then issues an mfa sign-in.
    browser.device = enrol_totp(principal)
    browser.pages.clear()
    token = rp.callback(browser.visit(rp.login_url(acr_values=f"urn:other {ACR_MFA}")))
    assert browser.pages == ["second factor", "consent"]
    assert token["userinfo"]["acr"] == ACR_MFA and token["userinfo"]["amr"] == ["pwd", "otp", "mfa"]

    # prompt=none cannot show the code page: the client hears it at once.
    browser.device = None
    other = make_principal(email="ola@example.com", password=PASSWORD)
    fresh = BrowserWithApp(base)
    rp.callback(fresh.visit(rp.login_url(), email=other.email))
    enrol_totp(other)
    location = fresh.visit(rp.login_url(acr_values=ACR_MFA, prompt="none"))
    assert parse_qs(urlsplit(location).query)["error"] == ["unmet_authentication_requirements"]
