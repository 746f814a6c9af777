"""Discovery (OpenID Connect and RFC 8414): one issuer everywhere, everything offered listed, nothing else."""

import pytest
from django.test import Client as HttpClient

from .oidc_helpers import ISSUER, bearer_get, code_flow, id_token_claims, make_app, signed_in

pytestmark = pytest.mark.django_db
DOCUMENTS = ("/.well-known/openid-configuration", "/oauth/.well-known/openid-configuration",
             "/.well-known/oauth-authorization-server/oauth", "/oauth/.well-known/oauth-authorization-server")


def document(path):
    response = HttpClient().get(path)
    assert response.status_code == 200 and response["Access-Control-Allow-Origin"] == "*"
    return response.json()


def test_every_discovery_document_names_one_issuer_and_the_same_endpoints():
    documents = [document(path) for path in DOCUMENTS]
    assert {d["issuer"] for d in documents} == {ISSUER}
    keys = ("authorization_endpoint", "token_endpoint", "revocation_endpoint", "introspection_endpoint",
            "userinfo_endpoint", "jwks_uri", "end_session_endpoint")
    assert all(document[k].startswith(ISSUER + "/") for k in keys for document in documents)
    assert all(d == documents[0] for d in documents)  # one document, wherever a client looks


def test_discovery_lists_what_is_offered_and_nothing_more():
    config = document("/.well-known/openid-configuration")
    assert config["revocation_endpoint"] == f"{ISSUER}/revoke_token/"
    assert config["introspection_endpoint"] == f"{ISSUER}/introspect/"
    assert config["end_session_endpoint"] == f"{ISSUER}/logout/"
    assert config["grant_types_supported"] == ["authorization_code", "refresh_token", "client_credentials"]
    assert config["response_types_supported"] == ["code"] and config["response_modes_supported"] == ["query"]
    assert config["code_challenge_methods_supported"] == ["S256"]
    assert config["id_token_signing_alg_values_supported"] == ["RS256"]
    assert config["token_endpoint_auth_methods_supported"] == ["client_secret_basic", "client_secret_post", "none"]
    assert config["revocation_endpoint_auth_methods_supported"] == config["token_endpoint_auth_methods_supported"]
    assert config["introspection_endpoint_auth_methods_supported"] == ["client_secret_basic", "client_secret_post"]
    assert config["authorization_response_iss_parameter_supported"] is True
    assert config["request_uri_parameter_supported"] is False and config["claims_parameter_supported"] is False
    assert set(config["prompt_values_supported"]) == {"none", "login"}
    assert {"openid", "email", "profile"} <= set(config["scopes_supported"])


def test_claims_supported_lists_every_claim_issued():
    client, secret = make_app()
    http, _ = signed_in(properties={"name": "Ana", "emailVerified": True})
    token = code_flow(http, client, secret, nonce="n-2")
    supported = set(document("/.well-known/openid-configuration")["claims_supported"])
    issued = set(id_token_claims(token["id_token"])) | set(bearer_get("/oauth/userinfo/", token["access_token"]).json())
    assert issued <= supported, issued - supported
    assert {"sub", "email", "name", "auth_time", "nonce", "at_hash"} <= issued
