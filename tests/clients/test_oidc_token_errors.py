"""The token and revocation endpoints: RFC 6749 §5.2 errors, no password oracle, audited client failures."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import MD5PasswordHasher
from django.test import Client as HttpClient
from oauth2_provider.models import get_access_token_model

from tests.audit.helpers import dump_trail, events_since, mark

from .oidc_helpers import PASSWORD, authorize, basic, exchange, make_app, pkce_pair, signed_in

pytestmark = pytest.mark.django_db
TOKEN = "/oauth/token/"


def post(data, client=None, secret=None, path=TOKEN):
    headers = {"HTTP_AUTHORIZATION": basic(client.client_id, secret)} if client else {}
    return HttpClient().post(path, data, **headers)


def forbid_password_checks(monkeypatch):
    """From now on, fail if anything checks a principal's password (or runs a password hasher)."""
    checked = []

    def refuse(*args, **kwargs):
        checked.append(args)
        raise AssertionError("a principal's password was checked")

    monkeypatch.setattr(get_user_model(), "check_password", refuse)
    for name in ("verify", "encode", "must_update"):
        monkeypatch.setattr(MD5PasswordHasher, name, refuse)
    return checked


def test_the_password_grant_is_unsupported_before_any_credential_is_looked_at(monkeypatch):
    """Before: right password -> unauthorized_client, wrong -> invalid_grant (a password oracle)."""
    from tests.conftest import make_principal

    make_principal(email="victim@example.com", password=PASSWORD)
    client, secret = make_app(grant_types=("client_credentials",))
    no_password_checks = forbid_password_checks(monkeypatch)
    seq = mark()
    answers = []
    for password in (PASSWORD, "wrong-guess-123456"):
        for auth in ((client, secret), (client, "pcs_wrong"), (None, None)):
            response = post({"grant_type": "password", "username": "victim@example.com", "password": password},
                            *auth)
            assert response.status_code == 400 and response["Content-Type"] == "application/json"
            answers.append(response.json())
    assert all(answer["error"] == "unsupported_grant_type" for answer in answers)
    assert len({str(answer) for answer in answers}) == 1  # the same answer whatever the password
    assert not no_password_checks
    assert not events_since(seq)  # not even the wrong client secret was looked at
    assert not get_access_token_model().objects.exists()


@pytest.mark.parametrize("grant_type", ["authorization_code", "refresh_token", "client_credentials", "password",
                                        "implicit", "urn:ietf:params:oauth:grant-type:device_code",
                                        "urn:ibm:params:oauth:grant-type:apikey", "nonsense"])
def test_no_grant_checks_a_principals_password(grant_type, monkeypatch):
    from tests.conftest import make_principal

    make_principal(email="someone@example.com", password=PASSWORD)
    client, secret = make_app(grant_types=("authorization_code", "refresh_token", "client_credentials"))
    no_password_checks = forbid_password_checks(monkeypatch)
    response = post({"grant_type": grant_type, "code": "x", "refresh_token": "x", "code_verifier": "v" * 43,
                     "redirect_uri": "https://app.example.com/cb", "username": "someone@example.com",
                     "password": PASSWORD}, client, secret)
    if grant_type == "client_credentials":
        assert response.status_code == 200  # the client's own token; username and password are ignored
    else:
        assert 400 <= response.status_code < 500 and response.json()["error"]
    assert not no_password_checks


@pytest.mark.parametrize("data, error", [
    ({}, "invalid_request"),
    ({"grant_type": ""}, "invalid_request"),
    ({"grant_type": "nonsense"}, "unsupported_grant_type"),
    ({"grant_type": "implicit"}, "unsupported_grant_type"),
    ({"grant_type": "urn:ietf:params:oauth:grant-type:device_code"}, "unsupported_grant_type"),
])
def test_missing_and_unknown_grant_types_are_told_apart_before_client_authentication(data, error):
    client, _ = make_app(grant_types=("client_credentials",))
    seq = mark()
    response = post(data, client, "pcs_wrong-secret")
    assert response.status_code == 400 and response.json()["error"] == error, response.content
    assert response["Cache-Control"] == "no-store"
    assert not events_since(seq, action="client.auth_failed")  # decided before the secret was checked


def test_a_grant_the_client_may_not_use_is_unauthorized_client_before_the_code_is_looked_at():
    machine, secret = make_app(grant_types=("client_credentials",))
    for data in ({"grant_type": "authorization_code", "code": "anything", "code_verifier": "v" * 43,
                  "redirect_uri": "https://app.example.com/cb"},
                 {"grant_type": "refresh_token", "refresh_token": "anything"}):
        response = post(data, machine, secret)
        assert response.status_code == 400 and response.json()["error"] == "unauthorized_client"
    web, web_secret = make_app(grant_types=("authorization_code",))
    response = post({"grant_type": "client_credentials"}, web, web_secret)
    assert response.json()["error"] == "unauthorized_client"


def test_a_redirect_uri_other_than_the_authorization_requests_is_invalid_grant():
    client, secret = make_app()
    client.redirect_uris += " https://app.example.com/other"
    client.save()
    http, _ = signed_in()
    verifier, challenge = pkce_pair()
    code = authorize(http, client, challenge)["code"]
    response = exchange(client, secret, code, verifier, redirect_uri="https://app.example.com/other")
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_bad_client_credentials_are_401_with_a_basic_challenge_and_audited(settings):
    client, secret = make_app(grant_types=("client_credentials",))
    seq = mark()
    attempts = [
        ({"grant_type": "client_credentials"}, {"HTTP_AUTHORIZATION": basic(client.client_id, "pcs_wrong")},
         "invalid_secret"),
        ({"grant_type": "client_credentials", "client_id": client.client_id, "client_secret": "pcs_wrong2"}, {},
         "invalid_secret"),
        ({"grant_type": "client_credentials"}, {"HTTP_AUTHORIZATION": basic("no-such-client", "pcs_x")},
         "unknown_client"),
        ({"grant_type": "client_credentials"}, {"HTTP_AUTHORIZATION": "Basic %%%"}, "malformed_credentials"),
        ({"grant_type": "client_credentials"}, {"HTTP_AUTHORIZATION": basic(client.client_id, "")}, "missing_secret"),
    ]
    for data, headers, _reason in attempts:
        response = HttpClient().post(TOKEN, data, **headers)
        assert response.status_code == 401 and response.json()["error"] == "invalid_client"
        assert response["WWW-Authenticate"] == 'Basic realm="portcullis"'
    events = events_since(seq, action="client.auth_failed")
    assert [e.details["reason"] for e in events] == [reason for _, _, reason in attempts]
    assert events[0].target_type == "client" and events[0].target_id == str(client.pk)
    assert events[2].target_id == "no-such-client" and events[2].details["clientId"] == "no-such-client"
    assert all(e.details["endpoint"] == TOKEN and e.actor == "anonymous" for e in events)
    trail = dump_trail()
    assert "pcs_wrong" not in trail and secret not in trail
    # No client named at all: nothing to record.
    seq = mark()
    assert HttpClient().post(TOKEN, {"grant_type": "client_credentials"}).status_code == 401
    assert not events_since(seq, action="client.auth_failed")


def test_revocation_refuses_bad_client_credentials_with_401_basic_and_audits_them():
    client, secret = make_app(grant_types=("client_credentials",))
    token = post({"grant_type": "client_credentials"}, client, secret).json()["access_token"]
    seq = mark()
    response = post({"token": token}, client, "pcs_wrong", path="/oauth/revoke_token/")
    assert response.status_code == 401 and response["WWW-Authenticate"].startswith("Basic")
    [event] = events_since(seq, action="client.auth_failed")
    assert event.details["endpoint"] == "/oauth/revoke_token/" and event.details["reason"] == "invalid_secret"
    assert post({"token": token}, client, secret, path="/oauth/revoke_token/").status_code == 200
    assert HttpClient().get("/resources/me", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 401


def test_a_nul_byte_in_a_client_id_is_invalid_request_naming_it_not_500():
    # Refused by the request guard before any client is looked up, in RFC 6749's shape.
    response = HttpClient().post(TOKEN, {"grant_type": "client_credentials", "client_id": "a\x00b",
                                         "client_secret": "pcs_x"})
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"
    assert "client_id" in response.json()["error_description"]
    response = HttpClient().post(TOKEN, {"grant_type": "authorization_code", "client_id": "a\x00b", "code": "x"})
    assert response.status_code == 400
