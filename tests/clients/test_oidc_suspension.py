"""Suspension, deletion and password reset stop OAuth at once: every endpoint refuses, every token is revoked."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client as HttpClient
from oauth2_provider.models import get_access_token_model, get_grant_model, get_refresh_token_model

from audit.models import AuditEvent
from clients import services as client_services
from clients.revocation import revoke_tokens
from principals import services as principal_services
from tests.audit.helpers import events_since, mark

from .oidc_helpers import (
    PASSWORD, authorize, authorize_params, basic, bearer_get, code_flow, exchange, make_app, pkce_pair, refresh,
    signed_in,
)

pytestmark = pytest.mark.django_db


def live_tokens(principal):
    AccessToken, RefreshToken = get_access_token_model(), get_refresh_token_model()
    return (AccessToken.objects.filter(user=principal).count()
            + RefreshToken.objects.filter(user=principal, revoked__isnull=True).count())


def test_a_suspended_principals_refresh_token_and_userinfo_are_refused_even_before_revocation():
    """The validator refuses a suspended principal whatever the token tables say (defence in depth)."""
    client, secret = make_app()
    http, principal = signed_in(permissions=["iam/principals:read"])
    token = code_flow(http, client, secret)
    assert bearer_get("/oauth/userinfo/", token["access_token"]).status_code == 200
    get_user_model().objects.filter(pk=principal.pk).update(suspended=True)  # no service: no revocation
    refreshed = refresh(client, secret, token["refresh_token"])
    assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant"
    assert "access_token" not in refreshed.json() and "id_token" not in refreshed.json()
    userinfo = bearer_get("/oauth/userinfo/", token["access_token"])
    assert userinfo.status_code == 401 and 'error="invalid_token"' in userinfo["WWW-Authenticate"]
    assert bearer_get("/resources/me", token["access_token"]).status_code == 401


def test_a_suspended_principals_code_is_refused_and_its_session_no_longer_authorizes():
    client, secret = make_app()
    http, principal = signed_in()
    verifier, challenge = pkce_pair()
    code = authorize(http, client, challenge)["code"]
    get_user_model().objects.filter(pk=principal.pk).update(suspended=True)
    response = exchange(client, secret, code, verifier)
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"
    # The auth backend refuses the suspended principal's session: back to the sign-in page.
    again = http.get("/oauth/authorize/", authorize_params(client, challenge))
    assert again.status_code == 302 and again["Location"].startswith("/oauth/login/")
    console = http.get("/admin/")
    assert console.status_code == 302 and "/login/" in console["Location"]


def test_suspension_revokes_every_token_at_once_with_one_audit_event():
    web, web_secret = make_app()
    other, other_secret = make_app()
    http, principal = signed_in(permissions=["iam/principals:read"])
    first = code_flow(http, web, web_secret)
    second = code_flow(http, other, other_secret)
    verifier, challenge = pkce_pair()
    pending_code = authorize(http, web, challenge)["code"]
    assert live_tokens(principal) == 4
    seq = mark()
    principal_services.suspend_principal(None, principal.pk)
    assert live_tokens(principal) == 0 and not get_grant_model().objects.filter(user=principal).exists()
    [event] = events_since(seq, action="token.revoked")
    assert event.target_id == str(principal.pk) and event.target_type == "principal"
    assert event.details["count"] == 4 and event.details["reason"] == "principal.suspended"
    assert event.details["authorizationCodes"] == 1
    for token in (first, second):
        assert token["access_token"] not in str(event.details)
    principal_services.unsuspend_principal(None, principal.pk)  # restoring does not revive anything
    for (client, secret), token in (((web, web_secret), first), ((other, other_secret), second)):
        assert refresh(client, secret, token["refresh_token"]).json()["error"] == "invalid_grant"
        assert bearer_get("/oauth/userinfo/", token["access_token"]).status_code == 401
    assert exchange(web, web_secret, pending_code, verifier).json()["error"] == "invalid_grant"


def test_deleting_a_principal_and_resetting_its_password_revoke_its_tokens():
    client, secret = make_app()
    http, principal = signed_in()
    code_flow(http, client, secret)
    seq = mark()
    principal_services.issue_temporary_password(principal.pk)
    [event] = events_since(seq, action="token.revoked")
    assert event.details == {"reason": "password.reset", "count": 2, "accessTokens": 1, "refreshTokens": 1,
                             "idTokens": 1, "authorizationCodes": 0}
    assert live_tokens(principal) == 0
    # The new password hash ends every session signed in with the old one (Django's session hash).
    response = http.get("/oauth/authorize/", authorize_params(client, pkce_pair()[1]))
    assert response.status_code == 302 and response["Location"].startswith("/oauth/login/")

    http, victim = signed_in()
    code_flow(http, client, secret)
    seq = mark()
    principal_services.delete_principal(None, victim.pk)
    [event] = events_since(seq, action="token.revoked")
    assert event.details["reason"] == "principal.deleted" and event.details["count"] == 2


def test_a_password_change_ends_the_other_sessions():
    from principals.services import change_own_password

    http, principal = signed_in()
    assert http.get("/oauth/password/").status_code == 200
    change_own_password(principal, PASSWORD, "Another-passphrase-2027")
    response = http.get("/oauth/password/")
    assert response.status_code == 302 and response["Location"].startswith("/oauth/login/")


def test_a_suspended_client_is_refused_by_every_endpoint_and_loses_its_tokens():
    client, secret = make_app(grant_types=("authorization_code", "refresh_token", "client_credentials"),
                              roles=["system:resource-server"])
    http, principal = signed_in()
    user_token = code_flow(http, client, secret)
    own = HttpClient().post("/oauth/token/", {"grant_type": "client_credentials"},
                            HTTP_AUTHORIZATION=basic(client.client_id, secret)).json()
    seq = mark()
    client_services.set_client_suspended(None, client.pk, True)
    [event] = events_since(seq, action="token.revoked")
    assert event.target_type == "client" and event.details["reason"] == "client.suspended"
    assert event.details["accessTokens"] == 2 and event.details["refreshTokens"] == 1
    assert not get_access_token_model().objects.filter(application=client).exists()

    page = http.get("/oauth/authorize/", authorize_params(client, pkce_pair()[1]))
    assert page.status_code == 400 and "Location" not in page
    auth = basic(client.client_id, secret)
    for path, data in (("/oauth/token/", {"grant_type": "client_credentials"}),
                       ("/oauth/token/", {"grant_type": "refresh_token", "refresh_token": user_token["refresh_token"]}),
                       ("/oauth/revoke_token/", {"token": own["access_token"]}),
                       ("/oauth/introspect/", {"token": own["access_token"]})):
        response = HttpClient().post(path, data, HTTP_AUTHORIZATION=auth)
        assert response.status_code == 401 and response.json()["error"] == "invalid_client", (path, response.content)
        assert response["WWW-Authenticate"].startswith("Basic")
    reasons = {e.details["reason"] for e in events_since(seq, action="client.auth_failed")}
    assert reasons == {"client_suspended"}
    assert bearer_get("/oauth/userinfo/", user_token["access_token"]).status_code == 401

    seq = mark()
    client_services.set_client_suspended(None, client.pk, False)
    client_services.delete_client(None, client.pk)
    assert not events_since(seq, action="token.revoked")  # nothing left to revoke: no event


def test_deleting_a_client_revokes_and_records_what_it_held():
    client, secret = make_app()
    http, _ = signed_in()
    code_flow(http, client, secret)
    seq = mark()
    client_services.delete_client(None, client.pk)
    [event] = events_since(seq, action="token.revoked")
    assert event.details["reason"] == "client.deleted" and event.details["count"] == 2


def test_revoke_tokens_can_be_limited_to_one_client_and_records_nothing_when_nothing_was_live():
    web, web_secret = make_app()
    other, other_secret = make_app()
    http, principal = signed_in()
    code_flow(http, web, web_secret)
    kept = code_flow(http, other, other_secret)
    assert revoke_tokens(principal, "test", application=web) == 2
    assert get_access_token_model().objects.filter(user=principal, application=other).exists()
    assert bearer_get("/oauth/userinfo/", kept["access_token"]).status_code == 200
    before = AuditEvent.objects.count()
    assert revoke_tokens(principal, "test", application=web) == 0
    assert AuditEvent.objects.count() == before
