"""Sessions (Hantera): a principal's sign-ins and OAuth grants, listed and revoked by the owner and by
administrators — the revocation takes effect on the next request; audited; least privilege."""

import pytest
from django.test import Client as HttpClient

from audit.models import AuditEvent
from principals.sessions.models import SignInSession
from roles.models import RoleBinding
from tests.clients.oidc_helpers import PASSWORD, bearer_get, code_flow, make_app, refresh, signed_in
from tests.conftest import make_principal, make_role

pytestmark = pytest.mark.django_db


def sessions(http, path="/resources/me/sessions"):
    response = http.get(path)
    assert response.status_code == 200, response.content
    return response.json()["results"]


def second_sign_in(principal):
    http = HttpClient(HTTP_USER_AGENT="Second browser")
    assert http.post("/oauth/login/", {"username": principal.email, "password": PASSWORD}).status_code == 302
    return http


def test_the_owner_lists_its_sign_ins_and_grants_and_no_secret_appears():
    http, principal = signed_in(permissions=["iam/principals:read"])
    other = second_sign_in(principal)
    app, secret = make_app()
    tokens = code_flow(http, app, secret)
    listed = sessions(http)
    kinds = sorted(entry["type"] for entry in listed)
    assert kinds == ["accessToken", "signIn", "signIn"], listed
    current = [entry for entry in listed if entry["current"]]
    assert len(current) == 1 and current[0]["type"] == "signIn"
    token_entry = next(entry for entry in listed if entry["type"] == "accessToken")
    assert token_entry["clientName"] == "Web" and "iam/principals:read" in token_entry["scopes"]
    assert any(entry["userAgent"] == "Second browser" for entry in listed)
    text = str(listed)
    for secret_value in (tokens["access_token"], tokens["refresh_token"], http.session.session_key,
                         other.session.session_key):
        assert secret_value not in text
    # Through the token, the token's own entry is the current one.
    via_token = bearer_get("/resources/me/sessions", tokens["access_token"]).json()["results"]
    assert [e["type"] for e in via_token if e["current"]] == ["accessToken"]


def test_revoking_a_sign_in_ends_it_on_the_next_request():
    http, principal = signed_in(permissions=["iam/principals:read"])
    other = second_sign_in(principal)
    assert other.get("/resources/me").status_code == 200
    target = next(e for e in sessions(http) if e["type"] == "signIn" and not e["current"])
    response = http.delete(f"/resources/me/sessions/{target['id']}")
    assert response.status_code == 204
    assert other.get("/resources/me").status_code in (401, 403)
    assert http.get("/resources/me").status_code == 200  # the other one stays
    event = AuditEvent.objects.filter(action="session.revoked").get()
    assert event.target_id == str(principal.pk) and event.details == {"session": target["id"], "type": "signIn"}
    assert len(sessions(http)) == 1


def test_revoking_a_grant_stops_its_access_and_refresh_tokens():
    http, principal = signed_in(permissions=["iam/principals:read"])
    app, secret = make_app()
    tokens = code_flow(http, app, secret)
    assert bearer_get("/resources/me", tokens["access_token"]).status_code == 200
    entry = next(e for e in sessions(http) if e["type"] == "accessToken")
    assert http.delete(f"/resources/me/sessions/{entry['id']}").status_code == 204
    assert bearer_get("/resources/me", tokens["access_token"]).status_code == 401
    assert refresh(app, secret, tokens["refresh_token"]).status_code == 400
    assert [e["type"] for e in sessions(http)] == ["signIn"]


def test_a_refresh_token_left_alone_is_listed_and_revocable():
    from oauth2_provider.models import get_access_token_model

    http, principal = signed_in(permissions=["iam/principals:read"])
    app, secret = make_app()
    tokens = code_flow(http, app, secret)
    get_access_token_model().objects.filter(user=principal).delete()  # as when the access token expired and was purged
    entry = next(e for e in sessions(http) if e["type"] == "refreshToken")
    assert http.delete(f"/resources/me/sessions/{entry['id']}").status_code == 204
    assert refresh(app, secret, tokens["refresh_token"]).status_code == 400


def test_signing_out_forgets_the_session():
    http, principal = signed_in(roles=["system:portal:full"])
    assert SignInSession.objects.filter(principal=principal).count() == 1
    assert http.post("/admin/logout/").status_code == 200
    assert not SignInSession.objects.filter(principal=principal).exists()


def test_a_session_ended_by_a_password_change_is_not_listed():
    http, principal = signed_in()
    other = second_sign_in(principal)
    principal.set_password("A-new-passphrase-2027")
    principal.save()
    admin = HttpClient()
    admin.force_login(make_principal(roles=["system:owner"]))
    assert sessions(admin, f"/resources/iam/principals/{principal.pk}/sessions") == []
    assert other.get("/resources/me").status_code in (401, 403)


def test_an_administrator_lists_and_revokes_anothers_sessions():
    http, principal = signed_in(permissions=["orders/items:read"])
    admin = HttpClient()
    admin.force_login(make_principal(permissions=["iam/principals:read", "iam/principals:write", "orders/items:read"]))
    listed = sessions(admin, f"/resources/iam/principals/{principal.pk}/sessions")
    assert [e["type"] for e in listed] == ["signIn"] and not listed[0]["current"]
    response = admin.delete(f"/resources/iam/principals/{principal.pk}/sessions/{listed[0]['id']}")
    assert response.status_code == 204
    assert http.get("/resources/me").status_code in (401, 403)
    assert AuditEvent.objects.filter(action="session.revoked", target_id=str(principal.pk)).count() == 1


def test_managing_anothers_sessions_needs_the_permissions_and_least_privilege():
    http, principal = signed_in(permissions=["orders/items:delete"])
    path = f"/resources/iam/principals/{principal.pk}/sessions"
    entry_id = str(SignInSession.objects.get(principal=principal).pk)

    nobody = HttpClient()
    nobody.force_login(make_principal())
    assert nobody.get(path).status_code == 403
    assert nobody.delete(f"{path}/{entry_id}").status_code == 403
    reader = HttpClient()
    reader.force_login(make_principal(permissions=["iam/principals:read"]))
    assert reader.get(path).status_code == 200
    assert reader.delete(f"{path}/{entry_id}").status_code == 403
    # Write on principals, but not everything the target holds: may not manage it.
    weaker = HttpClient()
    weaker.force_login(make_principal(permissions=["iam/principals:read", "iam/principals:write"]))
    refused = weaker.delete(f"{path}/{entry_id}")
    assert refused.status_code == 403 and "orders/items:delete" in refused.json()["detail"]
    # Read scoped to oneself: another principal's sessions stay hidden.
    own_only = make_principal()
    RoleBinding.objects.create(principal=own_only, role=make_role(["iam/principals:read"]),
                               scope=f"iam/principals/{own_only.pk}")
    scoped = HttpClient()
    scoped.force_login(own_only)
    assert scoped.get(path).status_code == 403
    assert scoped.get(f"/resources/iam/principals/{own_only.pk}/sessions").status_code == 200
    # The owner's endpoint reaches only the owner's own sessions.
    assert nobody.delete(f"/resources/me/sessions/{entry_id}").status_code == 404
    assert http.get("/resources/me").status_code == 200
    assert not AuditEvent.objects.filter(action="session.revoked").exists()


@pytest.mark.parametrize("session_id", ["nope", "at-x", "rt-", "at-99999999999999999999", "00000000-0000-0000-0000-000000000000"])
def test_unknown_sessions_are_404(session_id):
    http, principal = signed_in()
    assert http.delete(f"/resources/me/sessions/{session_id}").status_code == 404


def test_bad_principal_id_is_400_and_unknown_404():
    admin = HttpClient()
    admin.force_login(make_principal(roles=["system:owner"]))
    assert admin.get("/resources/iam/principals/not-a-uuid/sessions").status_code == 400
    assert admin.get("/resources/iam/principals/00000000-0000-0000-0000-000000000000/sessions").status_code == 404
    assert admin.delete("/resources/iam/principals/00000000-0000-0000-0000-000000000000/sessions/x").status_code == 404


def test_the_session_or_token_of_the_request_itself_is_signed_out_of_not_revoked():
    http, principal = signed_in(permissions=["iam/principals:read", "iam/principals:write"])
    app, secret = make_app()
    tokens = code_flow(http, app, secret)
    listed = sessions(http)
    own = next(e for e in listed if e["current"])
    refused = http.delete(f"/resources/me/sessions/{own['id']}")
    assert refused.status_code == 400 and "sessionId" in refused.json()["errors"]
    assert http.delete(f"/resources/iam/principals/{principal.pk}/sessions/{own['id']}").status_code == 400
    token_entry = next(e for e in listed if e["type"] == "accessToken")
    via_token = HttpClient(HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
    assert via_token.delete(f"/resources/me/sessions/{token_entry['id']}").status_code == 400
    assert bearer_get("/resources/me", tokens["access_token"]).status_code == 200
    # ...while each can end the other.
    assert via_token.delete(f"/resources/me/sessions/{own['id']}").status_code == 204
    assert http.get("/resources/me").status_code in (401, 403)
