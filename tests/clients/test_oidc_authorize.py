"""The authorization endpoint as OpenID Connect and RFC 9207 / RFC 9700 want it: prompt, max_age, auth_time,
errors redirected with state and iss, and nothing shown for a request that will be refused."""

import time

import pytest
import time_machine
from django.test import Client as HttpClient

from .oidc_helpers import (
    ISSUER, PASSWORD, REDIRECT, authorize, authorize_params, code_flow, exchange, id_token_claims, make_app,
    pkce_pair, query_of, signed_in,
)

pytestmark = pytest.mark.django_db


def redirected_error(response):
    assert response.status_code == 302 and response["Location"].startswith(REDIRECT), response.get("Location")
    return query_of(response["Location"])


@pytest.mark.parametrize("scope", ["openid", "openid email", "iam/principals:read"])
def test_prompt_none_without_a_session_is_login_required_at_the_client(scope):
    """Before: a 500 (oauthlib asked the validator, which had no answer) for an OpenID request."""
    client, _ = make_app()
    response = HttpClient().get("/oauth/authorize/", authorize_params(client, pkce_pair()[1], scope=scope,
                                                                      prompt="none"))
    assert redirected_error(response) == {"error": "login_required", "state": "st-1", "iss": ISSUER}


def test_prompt_none_answers_consent_required_or_a_code_silently():
    client, _ = make_app()
    http, _ = signed_in()
    response = http.get("/oauth/authorize/", authorize_params(client, pkce_pair()[1], prompt="none"))
    error = redirected_error(response)
    assert error["error"] == "consent_required" and error["state"] == "st-1" and error["iss"] == ISSUER
    first_party, _ = make_app(firstParty=True)
    silent = redirected_error(http.get("/oauth/authorize/", authorize_params(first_party, pkce_pair()[1],
                                                                            prompt="none")))
    assert silent["code"] and silent["state"] == "st-1" and silent["iss"] == ISSUER


def test_prompt_none_with_a_temporary_password_is_interaction_required():
    client, _ = make_app(firstParty=True)
    http, _ = signed_in(must_change_password=True)
    error = redirected_error(http.get("/oauth/authorize/", authorize_params(client, pkce_pair()[1], prompt="none")))
    assert error["error"] == "interaction_required" and error["state"] == "st-1"


def test_prompt_none_mixed_with_another_value_is_invalid_request():
    client, _ = make_app()
    http, _ = signed_in()
    error = redirected_error(http.get("/oauth/authorize/", authorize_params(client, pkce_pair()[1],
                                                                           prompt="none login")))
    assert error["error"] == "invalid_request" and error["state"] == "st-1"


def test_prompt_login_makes_the_user_sign_in_again_and_cannot_be_skipped():
    client, secret = make_app()
    http, principal = signed_in()
    verifier, challenge = pkce_pair()
    response = http.get("/oauth/authorize/", authorize_params(client, challenge, prompt="login"))
    assert response.status_code == 302 and response["Location"].startswith("/oauth/login/?next=")
    target = query_of(response["Location"])["next"]
    assert "prompt" not in query_of(target) and query_of(target)["client_id"] == client.client_id
    skipped = http.get(target)  # straight back, without signing in
    assert skipped.status_code == 302 and skipped["Location"].startswith("/oauth/login/")
    with time_machine.travel(time.time() + 5):
        assert http.post("/oauth/login/", {"username": principal.email, "password": PASSWORD,
                                           "next": target}).status_code == 302
    consent = http.get(target)
    assert consent.status_code == 200 and b"Allow Web to act for you?" in consent.content


def test_max_age_makes_an_old_sign_in_sign_in_again_and_auth_time_is_the_real_sign_in():
    client, secret = make_app()
    with time_machine.travel(1_800_000_000, tick=False):
        http, principal = signed_in()
    with time_machine.travel(1_800_000_100, tick=False):
        token = code_flow(http, client, secret, max_age="3600", nonce="n-1")
        claims = id_token_claims(token["id_token"])
        assert claims["auth_time"] == 1_800_000_000 and claims["nonce"] == "n-1"
        verifier, challenge = pkce_pair()
        response = http.get("/oauth/authorize/", authorize_params(client, challenge, max_age="60"))
        assert response.status_code == 302 and response["Location"].startswith("/oauth/login/")
        target = query_of(response["Location"])["next"]
        assert query_of(target)["max_age"] == "60"
        silent = redirected_error(http.get("/oauth/authorize/", authorize_params(client, challenge, max_age="60",
                                                                                prompt="none")))
        assert silent["error"] == "login_required"
    with time_machine.travel(1_800_000_200, tick=False):
        http.post("/oauth/login/", {"username": principal.email, "password": PASSWORD})
        code = authorize(http, client, challenge, max_age="60")["code"]
        claims = id_token_claims(exchange(client, secret, code, verifier).json()["id_token"])
    assert claims["auth_time"] == 1_800_000_200


def test_auth_time_is_this_sessions_sign_in_not_a_later_one_elsewhere():
    client, secret = make_app()
    with time_machine.travel(1_800_000_000, tick=False):
        http, principal = signed_in()
    with time_machine.travel(1_800_000_500, tick=False):
        HttpClient().post("/oauth/login/", {"username": principal.email, "password": PASSWORD})  # another browser
        token = code_flow(http, client, secret)
    assert id_token_claims(token["id_token"])["auth_time"] == 1_800_000_000


@pytest.mark.parametrize("extra, error", [
    ({"response_type": "token"}, "unsupported_response_type"),
    ({"response_type": "id_token"}, "unsupported_response_type"),
    ({"response_type": "code id_token"}, "unsupported_response_type"),
    ({"code_challenge_method": "plain"}, "invalid_request"),
    ({"code_challenge_method": ""}, "invalid_request"),
    ({"response_mode": "fragment"}, "invalid_request"),
    ({"response_mode": "form_post"}, "invalid_request"),
    ({"max_age": "soon"}, "invalid_request"),
    ({"max_age": "-1"}, "invalid_request"),
])
@pytest.mark.parametrize("signed", [False, True])
def test_refused_requests_are_redirected_errors_with_state_and_iss_before_any_page(extra, error, signed):
    client, _ = make_app()
    http = signed_in()[0] if signed else HttpClient()
    params = {**authorize_params(client, pkce_pair()[1]), **extra}
    if extra.get("code_challenge_method") == "":
        params.pop("code_challenge_method")  # a challenge without a method means plain (RFC 7636 §4.3)
    answer = redirected_error(http.get("/oauth/authorize/", params))
    assert answer["error"] == error and answer["state"] == "st-1" and answer["iss"] == ISSUER
    assert "code" not in answer


def test_an_unknown_client_or_redirect_uri_gets_an_error_page_not_the_sign_in_page():
    client, _ = make_app()
    for params in ({**authorize_params(client, pkce_pair()[1]), "client_id": "nobody"},
                   {**authorize_params(client, pkce_pair()[1]), "client_id": "nul\x00byte"},
                   {**authorize_params(client, pkce_pair()[1]), "redirect_uri": "https://evil.example.com/cb"}):
        response = HttpClient().get("/oauth/authorize/", params)
        assert response.status_code == 400 and "Location" not in response


def test_every_redirect_to_the_client_carries_the_discovery_issuer(settings):
    client, secret = make_app()
    http, _ = signed_in()
    answer = authorize(http, client, pkce_pair()[1])
    assert answer["iss"] == ISSUER == HttpClient().get("/.well-known/openid-configuration").json()["issuer"]
    page = http.get("/oauth/authorize/", authorize_params(client, pkce_pair()[1]))
    form = {k: v for k, v in page.context["form"].initial.items() if v is not None}
    denied = redirected_error(http.post("/oauth/authorize/", form))  # the user said no
    assert denied == {"error": "access_denied", "state": "st-1", "iss": ISSUER}
    configured = "https://iam.example.com/oauth"
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "OIDC_ISS_ENDPOINT": configured}
    from oauth2_provider.settings import oauth2_settings

    try:
        assert authorize(http, client, pkce_pair()[1])["iss"] == configured
        for path in ("/.well-known/openid-configuration", "/oauth/.well-known/openid-configuration",
                     "/.well-known/oauth-authorization-server/oauth", "/oauth/.well-known/oauth-authorization-server"):
            assert HttpClient().get(path).json()["issuer"] == configured
    finally:
        oauth2_settings.reload()
