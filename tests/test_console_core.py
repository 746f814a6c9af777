"""The console (Django admin): entry decided by the engine, screens saving through the services."""

import pytest
from django.test import Client

from roles.models import Role, RoleBinding
from tests.conftest import make_principal

pytestmark = pytest.mark.django_db
PASSWORD = "Console-passphrase-42"


def login(email):
    client = Client()
    response = client.post("/admin/login/", {"username": email, "password": PASSWORD, "next": "/admin/"})
    return client, response


def test_owner_logs_in_and_sees_the_console():
    make_principal(email="owner@example.com", roles=["system:owner"], password=PASSWORD)
    client, response = login("OWNER@example.com")
    assert response.status_code == 302 and response["Location"] == "/admin/"
    page = client.get("/admin/")
    assert page.status_code == 200 and b"Principals" in page.content


def test_without_the_console_permission_login_is_refused():
    make_principal(email="api-only@example.com", permissions=["iam/principals:read"], password=PASSWORD)
    client, response = login("api-only@example.com")
    assert response.status_code == 200  # the form again, with an error
    assert client.get("/admin/").status_code == 302


def test_suspended_principal_cannot_log_in():
    make_principal(email="s@example.com", roles=["system:owner"], password=PASSWORD, suspended=True)
    client, response = login("s@example.com")
    assert client.get("/admin/").status_code == 302


def test_portal_role_enters_but_sees_only_what_its_roles_allow():
    make_principal(email="portal@example.com", roles=["system:portal:full"], password=PASSWORD)
    client, _ = login("portal@example.com")
    landing = client.get("/admin/")  # no screen to show: the console sends it to its self-service pages
    assert landing.status_code == 302 and landing["Location"] == "/account/"
    assert client.get("/admin/principals/principal/").status_code == 403
    reader = make_principal(email="reader@example.com", roles=["system:portal:full"],
                            permissions=["iam/principals:read"], password=PASSWORD)
    client, _ = login(reader.email)
    assert client.get("/admin/principals/principal/").status_code == 200
    target = make_principal()
    response = client.post(f"/admin/principals/principal/{target.pk}/change/",
                           {"email": "changed@example.com", "properties": "{}"})
    assert response.status_code == 403


def test_system_roles_are_read_only_in_the_console():
    make_principal(email="owner@example.com", roles=["system:owner"], password=PASSWORD)
    client, _ = login("owner@example.com")
    role = Role.objects.get(key="system:owner")
    response = client.post(f"/admin/roles/role/{role.pk}/change/",
                           {"description": "mine", "acl_entries": "[]"})
    assert response.status_code == 403
    assert client.post(f"/admin/roles/role/{role.pk}/delete/", {"post": "yes"}).status_code == 403
    role.refresh_from_db()
    assert role.acl_entries == [{"resource": "*", "permission": "*"}]


def test_suspend_action_and_last_owner_refusal():
    owner = make_principal(email="owner@example.com", roles=["system:owner"], password=PASSWORD)
    target = make_principal(email="t@example.com")
    client, _ = login("owner@example.com")
    client.post("/admin/principals/principal/", {"action": "suspend_selected", "_selected_action": [target.pk]})
    target.refresh_from_db()
    assert target.suspended
    client.post("/admin/principals/principal/", {"action": "suspend_selected", "_selected_action": [owner.pk]})
    owner.refresh_from_db()
    assert not owner.suspended


def test_binding_screen_refuses_escalation():
    make_principal(email="admin@example.com", roles=["system:portal:full"],
                   permissions=["iam/bindings:*", "iam/principals:read", "iam/roles:read"], password=PASSWORD)
    target = make_principal(email="t@example.com")
    client, _ = login("admin@example.com")
    owner_role = Role.objects.get(key="system:owner")
    response = client.post("/admin/roles/rolebinding/add/", {
        "principal": target.pk, "role": owner_role.pk, "scope": "", "conditions": "{}"}, follow=True)
    assert response.status_code == 200
    assert not RoleBinding.objects.filter(principal=target).exists()
    assert b"do not hold" in response.content


def test_must_change_password_is_sent_to_the_password_change_page():
    make_principal(email="new@example.com", roles=["system:owner"], password=PASSWORD, must_change_password=True)
    client, _ = login("new@example.com")
    response = client.get("/admin/principals/principal/")
    assert response.status_code == 302 and response["Location"].endswith("/admin/password_change/")
    changed = client.post("/admin/password_change/", {"old_password": PASSWORD,
                                                      "new_password1": "Brand-new-passphrase-7",
                                                      "new_password2": "Brand-new-passphrase-7"})
    assert changed.status_code == 302
    assert client.get("/admin/principals/principal/").status_code == 200
