"""Userinfo and bearer tokens (RFC 6750): insufficient_scope for a token without openid, no token in a URL."""

import pytest
from django.test import Client as HttpClient

from .oidc_helpers import basic, bearer_get, code_flow, make_app, signed_in

pytestmark = pytest.mark.django_db


def test_a_token_without_openid_is_403_insufficient_scope_with_a_bearer_challenge():
    """Before: 401 invalid_token, as if the token were bad."""
    client, secret = make_app()
    http, _ = signed_in(permissions=["iam/principals:read"])
    token = code_flow(http, client, secret, scope="iam/principals:read")
    response = bearer_get("/oauth/userinfo/", token["access_token"])
    assert response.status_code == 403 and response.json()["error"] == "insufficient_scope"
    assert response["Content-Type"] == "application/json"
    assert response["WWW-Authenticate"].startswith('Bearer error="insufficient_scope"')
    assert 'scope="openid"' in response["WWW-Authenticate"]


def test_a_bad_or_missing_token_is_401_with_a_bearer_challenge():
    for headers in ({"HTTP_AUTHORIZATION": "Bearer nope"}, {}):
        response = HttpClient().get("/oauth/userinfo/", **headers)
        assert response.status_code == 401 and response["WWW-Authenticate"].startswith("Bearer")
        assert response.json()["error"] == "invalid_token"


def test_an_access_token_in_the_query_string_is_refused_everywhere():
    """Before: userinfo answered a token given as ?access_token=."""
    client, secret = make_app(grant_types=("authorization_code", "client_credentials"))
    http, _ = signed_in(permissions=["iam/principals:read"])
    value = code_flow(http, client, secret)["access_token"]
    assert bearer_get("/oauth/userinfo/", value).status_code == 200
    refused = HttpClient().get("/oauth/userinfo/", {"access_token": value})
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_request"
    both = HttpClient().get("/oauth/userinfo/", {"access_token": value}, HTTP_AUTHORIZATION=f"Bearer {value}")
    assert both.status_code == 400
    assert HttpClient().get("/resources/me", {"access_token": value}).status_code == 401
    assert HttpClient().get("/resources/me", {"access_token": value},
                            HTTP_AUTHORIZATION=f"Bearer {value}").status_code == 401
    machine = HttpClient().post("/oauth/token/", {"grant_type": "client_credentials"},
                                HTTP_AUTHORIZATION=basic(client.client_id, secret)).json()["access_token"]
    assert HttpClient().get("/v1/apikeys", HTTP_AUTHORIZATION=f"Bearer {machine}").status_code != 401
    assert HttpClient().get("/v1/apikeys", {"access_token": machine}).status_code == 401
    assert HttpClient().get("/v1/apikeys", {"access_token": machine},
                            HTTP_AUTHORIZATION=f"Bearer {machine}").status_code == 401
