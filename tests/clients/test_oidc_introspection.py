"""Introspection (RFC 7662) needs client authentication and oauth/introspect:read; personal claims need more."""

import pytest
from django.test import Client as HttpClient

from audit.models import AuditEvent
from tests.audit.helpers import dump_trail, events_since, mark
from tests.conftest import make_role

from .oidc_helpers import basic, code_flow, make_app, signed_in

pytestmark = pytest.mark.django_db
PERSONAL = {"username", "iam_id", "sub", "permissions"}


def introspect(token, caller=None, secret=None, **extra):
    headers = {"HTTP_AUTHORIZATION": basic(caller.client_id, secret)} if caller else {}
    return HttpClient().post("/oauth/introspect/", {"token": token, **extra}, **headers)


@pytest.fixture
def user_token(db):
    """A principal's token, issued to a web client through the code flow."""
    client, secret = make_app()
    http, principal = signed_in(permissions=["iam/principals:read"])
    token = code_flow(http, client, secret)
    return {"client": client, "secret": secret, "principal": principal, "access": token["access_token"]}


def test_without_client_authentication_it_is_401_with_a_basic_challenge(user_token):
    response = introspect(user_token["access"])
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"
    assert response["WWW-Authenticate"] == 'Basic realm="portcullis"'
    bearer = HttpClient().post("/oauth/introspect/", {"token": user_token["access"]},
                               HTTP_AUTHORIZATION=f"Bearer {user_token['access']}")
    assert bearer.status_code == 401  # a token is not a client credential here


def test_a_wrong_secret_is_401_and_audited_without_the_secret(user_token):
    caller, secret = make_app(roles=["system:resource-server"])
    wrong = secret[:-2] + "xy"
    seq = mark()
    response = introspect(user_token["access"], caller, wrong)
    assert response.status_code == 401 and response["WWW-Authenticate"].startswith("Basic")
    [event] = events_since(seq, action="client.auth_failed")
    assert event.target_id == str(caller.pk) and event.details["reason"] == "invalid_secret"
    assert event.details["clientId"] == caller.client_id and event.details["endpoint"] == "/oauth/introspect/"
    assert wrong not in dump_trail() and secret not in dump_trail()


def test_an_authenticated_client_without_the_permission_is_refused(user_token):
    """Before: any client with a secret read any token's email and permissions."""
    caller, secret = make_app(grant_types=("client_credentials",))
    response = introspect(user_token["access"], caller, secret)
    assert response.status_code == 403 and response.json()["error"] == "unauthorized_client"
    assert "oauth/introspect:read" in response.json()["error_description"]
    assert "email" not in response.content.decode() and user_token["principal"].email not in response.content.decode()


def test_another_clients_token_is_active_without_personal_claims(user_token):
    caller, secret = make_app(grant_types=("client_credentials",), roles=["system:resource-server"])
    info = introspect(user_token["access"], caller, secret).json()
    assert info["active"] is True and info["client_id"] == user_token["client"].client_id
    assert info["token_type"] == "Bearer" and "iam/principals:read" in info["scope"].split()
    assert info["exp"] > info["iat"] and info["iss"] == "http://testserver/oauth"
    assert not PERSONAL & set(info) and user_token["principal"].email not in str(info)


def test_a_caller_that_may_read_principals_sees_whose_token_it_is(user_token):
    reader = make_role(["iam/principals:read"])
    caller, secret = make_app(grant_types=("client_credentials",), roles=["system:resource-server", reader.key])
    info = introspect(user_token["access"], caller, secret).json()
    principal = user_token["principal"]
    assert info["sub"] == str(principal.pk) and info["iam_id"] == principal.iam_id
    assert info["username"] == principal.email and info["permissions"] == ["iam/principals:read"]


def test_a_client_token_needs_clients_read_and_the_callers_own_token_shows_everything():
    job, job_secret = make_app(grant_types=("client_credentials",), scopes=("iam/principals:read",))
    token = HttpClient().post("/oauth/token/", {"grant_type": "client_credentials"},
                              HTTP_AUTHORIZATION=basic(job.client_id, job_secret)).json()["access_token"]
    caller, secret = make_app(grant_types=("client_credentials",), roles=["system:resource-server"])
    info = introspect(token, caller, secret).json()
    assert info["active"] is True and info["sub"] == job.client_id and "iam_id" not in info
    assert "permissions" not in info
    clients_reader = make_role(["iam/clients:read"])
    auditor, auditor_secret = make_app(grant_types=("client_credentials",),
                                       roles=["system:resource-server", clients_reader.key])
    assert introspect(token, auditor, auditor_secret).json()["iam_id"] == job.iam_id
    # The caller's own token: everything, with no read permission on clients.
    job_roles = make_app(grant_types=("client_credentials",), scopes=("iam/principals:read",),
                         roles=["system:resource-server"])
    own_client, own_secret = job_roles
    own = HttpClient().post("/oauth/token/", {"grant_type": "client_credentials"},
                            HTTP_AUTHORIZATION=basic(own_client.client_id, own_secret)).json()["access_token"]
    mine = introspect(own, own_client, own_secret).json()
    assert mine["iam_id"] == own_client.iam_id and mine["permissions"] == []


def test_bad_requests_are_4xx_json(user_token):
    caller, secret = make_app(grant_types=("client_credentials",), roles=["system:resource-server"])
    missing = HttpClient().post("/oauth/introspect/", {}, HTTP_AUTHORIZATION=basic(caller.client_id, secret))
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"
    in_url = HttpClient().get("/oauth/introspect/", {"token": user_token["access"]},
                              HTTP_AUTHORIZATION=basic(caller.client_id, secret))
    assert in_url.status_code == 405  # a token never travels in a URL
    assert introspect("not-a-token", caller, secret).json() == {"active": False}
    before = AuditEvent.objects.count()
    introspect(user_token["access"], caller, secret)
    assert AuditEvent.objects.count() == before  # a successful introspection writes nothing
