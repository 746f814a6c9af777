"""Failed credential attempts and console refusals are audited: apikey.auth_failed at /identity/token
(the key's id and prefix, never its value) and access.denied for a principal the console turns away."""

from datetime import timedelta

import pytest
from django.test import Client as HttpClient
from django.utils import timezone

from audit.models import AuditEvent
from clients import services as client_services
from clients.models import ApiKey
from roles.models import Role, RoleBinding
from tests.conftest import make_principal

pytestmark = pytest.mark.django_db
APIKEY_GRANT = "urn:ibm:params:oauth:grant-type:apikey"
PASSWORD = "Console-passphrase-42"


def identity_token(value=None):
    data = {"grant_type": APIKEY_GRANT}
    if value is not None:
        data["apikey"] = value
    return HttpClient().post("/identity/token", data)


def event_text(event):
    return f"{event.target_id} {event.target_repr} {event.details} {event.changes}"


# --- apikey.auth_failed -----------------------------------------------------------------------------

@pytest.mark.parametrize("case", ["disabled", "expired", "owner_suspended"])
def test_a_refused_existing_key_is_recorded_against_the_key(case):
    owner = make_principal()
    key, value = client_services.create_api_key(None, owner, "build key")
    if case == "disabled":
        ApiKey.objects.filter(pk=key.pk).update(disabled=True)
    elif case == "expired":
        ApiKey.objects.filter(pk=key.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    else:
        type(owner).objects.filter(pk=owner.pk).update(suspended=True)
    assert identity_token(value).status_code == 400
    event = AuditEvent.objects.get(action="apikey.auth_failed")
    assert event.target_type == "apiKey" and event.target_id == str(key.pk)
    reason = {"disabled": "disabled", "expired": "expired", "owner_suspended": "ownerSuspended"}[case]
    assert event.details == {"reason": reason, "prefix": key.prefix, "owner": owner.iam_id}
    assert event.actor == "anonymous" and event.ip == "127.0.0.1"
    assert value not in event_text(event) and value[12:] not in event_text(event)


def test_an_unknown_key_is_recorded_by_its_prefix_only():
    value = "pak_" + "Zq9" * 15
    assert identity_token(value).status_code == 400
    event = AuditEvent.objects.get(action="apikey.auth_failed")
    assert event.target_id == "" and event.details == {"reason": "unknown", "prefix": value[:12]}
    assert value[12:] not in event_text(event)


@pytest.mark.parametrize("value", [None, "", "my-password-typed-in-the-wrong-box"])
def test_a_missing_or_foreign_value_is_recorded_without_any_of_it(value):
    assert identity_token(value).status_code == 400
    event = AuditEvent.objects.get(action="apikey.auth_failed")
    assert "prefix" not in event.details and event.target_repr == ""
    if value:
        assert value[:6] not in event_text(event)


def test_a_good_key_leaves_no_failure():
    owner = make_principal()
    _, value = client_services.create_api_key(None, owner, "k")
    assert identity_token(value).status_code == 200
    assert not AuditEvent.objects.filter(action="apikey.auth_failed").exists()


# --- access.denied in the console -------------------------------------------------------------------

def console_login(email, http=None):
    http = http or HttpClient()
    response = http.post("/admin/login/", {"username": email, "password": PASSWORD, "next": "/admin/"})
    return http, response


def denials(principal):
    return list(AuditEvent.objects.filter(action="access.denied", actor=principal.iam_id))


def test_signing_in_to_the_console_without_its_permission_is_a_denial():
    outsider = make_principal(email="api-only@example.com", permissions=["iam/principals:read"], password=PASSWORD)
    _, response = console_login(outsider.email)
    assert response.status_code == 200  # the form again
    [event] = denials(outsider)
    assert event.details["permission"] == "portal:access" and event.target_id == "/admin/login/"


def test_a_session_without_the_console_permission_is_denied_once_per_refused_page():
    outsider = make_principal(email="oauth-user@example.com", password=PASSWORD)
    http = HttpClient()
    assert http.post("/oauth/login/", {"username": outsider.email, "password": PASSWORD}).status_code == 302
    response = http.get("/admin/", follow=True)
    assert response.redirect_chain[0][0].startswith("/admin/login/")
    [event] = denials(outsider)
    assert event.details["permission"] == "portal:access" and event.target_id == "/admin/"
    assert event.details["method"] == "GET"
    http.get("/admin/principals/principal/")
    assert len(denials(outsider)) == 2


def test_a_screen_the_roles_do_not_allow_is_a_403_and_a_denial():
    portal = make_principal(email="portal@example.com", roles=["system:portal:full"], password=PASSWORD)
    http, _ = console_login(portal.email)
    assert http.get("/admin/")["Location"] == "/account/"  # no screen to show: its self-service pages
    assert denials(portal) == []
    assert http.get("/admin/principals/principal/").status_code == 403
    [event] = denials(portal)
    assert event.target_id == "/admin/principals/principal/" and event.details["method"] == "GET"
    assert "principals_principal_changelist" in event.details["reason"]


def test_a_change_posted_by_a_reader_is_a_403_and_a_denial():
    reader = make_principal(email="reader@example.com", roles=["system:portal:full"],
                            permissions=["iam/principals:read"], password=PASSWORD)
    target = make_principal()
    http, _ = console_login(reader.email)
    response = http.post(f"/admin/principals/principal/{target.pk}/change/",
                         {"email": "changed@example.com", "properties": "{}"})
    assert response.status_code == 403
    [event] = denials(reader)
    assert event.details["method"] == "POST" and str(target.pk) in event.target_id


def test_a_service_refusal_in_the_console_is_a_denial_as_on_the_api():
    admin = make_principal(email="admin@example.com", roles=["system:portal:full"],
                           permissions=["iam/bindings:*", "iam/principals:read", "iam/roles:read"], password=PASSWORD)
    target = make_principal(email="t@example.com")
    http, _ = console_login(admin.email)
    owner_role = Role.objects.get(key="system:owner")
    http.post("/admin/roles/rolebinding/add/", {"principal": target.pk, "role": owner_role.pk, "scope": "",
                                                "conditions": "{}"})
    assert not RoleBinding.objects.filter(principal=target).exists()
    [event] = denials(admin)
    assert event.details["permission"] is None and "hold" in event.details["reason"]


def test_an_allowed_console_visit_leaves_no_denial():
    owner = make_principal(email="owner@example.com", roles=["system:owner"], password=PASSWORD)
    http, _ = console_login(owner.email)
    for path in ["/admin/", "/admin/principals/principal/", "/admin/roles/role/"]:
        assert http.get(path).status_code == 200
    assert denials(owner) == []
