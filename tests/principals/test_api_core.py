"""/resources/iam/principals and /resources/me over the API, with and without each permission."""

import uuid

import pytest
from django.contrib.auth import get_user_model
from django.core import mail

from roles.models import RoleBinding
from tests.conftest import api_client_for, make_principal, make_role

pytestmark = pytest.mark.django_db
Principal = get_user_model()
BASE = "/resources/iam/principals"


def url(pk, suffix=""):
    return f"{BASE}/{pk}{suffix}"


def test_anonymous_gets_401_problem_json(anonymous_api):
    response = anonymous_api.get(BASE)
    assert response.status_code == 401
    assert response["Content-Type"].startswith("application/problem+json")
    assert response.json()["status"] == 401


@pytest.mark.parametrize("method,suffix,permission", [
    ("get", "", "iam/principals:read"),
    ("patch", "", "iam/principals:write"),
    ("delete", "", "iam/principals:delete"),
    ("post", "/suspend", "iam/principals:write"),
    ("put", "/roles", "iam/principals:write"),
])
def test_each_endpoint_needs_its_permission(api_as, method, suffix, permission):
    target = make_principal()
    without = api_as("iam/roles:read")
    response = getattr(without, method)(url(target.pk, suffix), {"roles": []} if suffix == "/roles" else {},
                                        format="json")
    assert response.status_code == 403
    assert permission in response.json()["detail"]
    target.refresh_from_db()
    assert not target.suspended


def test_put_creates_then_replaces_idempotently(api_as):
    api = api_as("iam/principals:*", "portal:*", "portal/*:*")
    pk = uuid.uuid4()
    body = {"email": "Ada@Example.com", "properties": {"name": "Ada"}, "roles": ["system:portal:full"]}
    created = api.put(url(pk), body, format="json")
    assert created.status_code == 201, created.json()
    data = created.json()
    assert data["id"] == str(pk) and data["email"] == "ada@example.com"
    assert data["roles"] == ["system:portal:full"] and data["iamId"].endswith(str(pk))
    assert created["ETag"]
    again = api.put(url(pk), body, format="json")
    assert again.status_code == 200
    assert again.json()["roles"] == ["system:portal:full"]
    assert Principal.objects.filter(email="ada@example.com").count() == 1
    replaced = api.put(url(pk), {"email": "ada@example.com", "properties": {}, "roles": []}, format="json")
    assert replaced.json()["roles"] == [] and replaced.json()["properties"] == {}


def test_get_list_filters_and_etag(api_as):
    api = api_as("iam/principals:read")
    portal = make_principal(email="portal@example.com", roles=["system:portal:full"])
    make_principal(email="other@example.com", suspended=True)
    listing = api.get(BASE, {"rolePrefix": "system:portal:"}).json()
    assert [p["email"] for p in listing["results"]] == ["portal@example.com"]
    assert [p["email"] for p in api.get(BASE, {"suspended": "true"}).json()["results"]] == ["other@example.com"]
    assert [p["email"] for p in api.get(BASE, {"email": "PORTAL@example.com"}).json()["results"]] == [
        "portal@example.com"]
    detail = api.get(url(portal.pk))
    assert detail.status_code == 200 and detail["ETag"] == f'"{portal.version}"'
    assert api.get(url(uuid.uuid4())).status_code == 404
    assert api.get(url("not-a-uuid")).status_code == 400


def test_list_paginates_with_a_cursor(api_as):
    api = api_as("iam/principals:read")
    for index in range(5):
        make_principal(email=f"p{index}@example.com")
    first = api.get(BASE, {"limit": 3}).json()
    assert len(first["results"]) == 3 and first["next"]
    second = api.get(first["next"]).json()
    emails = [p["email"] for p in first["results"] + second["results"]]
    assert len(emails) == len(set(emails)) == 6


@pytest.mark.parametrize("body,field", [
    ({"email": "not-an-email"}, "email"),
    ({"email": "a@example.com", "roles": ["no:such-role"]}, "roles"),
    ({"email": "a@example.com", "properties": ["a", "list"]}, "properties"),
    ({"email": "a@example.com", "properties": {"blob": "x" * 17000}}, "properties"),
    ({"email": "a@example.com", "colour": "blue"}, "colour"),
    ({"email": "a@example.com", "roles": "system:owner"}, "roles"),
])
def test_bad_input_is_400_naming_the_field_and_writes_nothing(owner, body, field):
    api = api_client_for(owner)
    before = Principal.objects.count()
    response = api.put(url(uuid.uuid4()), body, format="json")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/problem+json")
    assert field in response.json()["errors"]
    assert Principal.objects.count() == before


def test_duplicate_email_is_400(owner):
    make_principal(email="taken@example.com")
    response = api_client_for(owner).put(url(uuid.uuid4()), {"email": "TAKEN@example.com"}, format="json")
    assert response.status_code == 400 and "email" in response.json()["errors"]


def test_stale_if_match_is_409_and_changes_nothing(owner):
    api = api_client_for(owner)
    target = make_principal(properties={"name": "a"})
    etag = api.get(url(target.pk))["ETag"]
    assert api.patch(url(target.pk), {"properties": {"name": "b"}}, format="json", HTTP_IF_MATCH=etag).status_code == 200
    stale = api.patch(url(target.pk), {"properties": {"name": "c"}}, format="json", HTTP_IF_MATCH=etag)
    assert stale.status_code == 409
    target.refresh_from_db()
    assert target.properties == {"name": "b"}
    assert api.delete(url(target.pk), HTTP_IF_MATCH=etag).status_code == 409
    assert Principal.objects.filter(pk=target.pk).exists()


def test_patch_merges_properties(owner):
    api = api_client_for(owner)
    target = make_principal(properties={"name": "a", "team": "x"})
    response = api.patch(url(target.pk), {"properties": {"team": None, "desk": 4}}, format="json")
    assert response.json()["properties"] == {"name": "a", "desk": 4}


def test_suspend_unsuspend_and_session_stops_at_once(owner):
    api = api_client_for(owner)
    target = make_principal(permissions=["iam/roles:read"])
    target_api = api_client_for(target)
    assert target_api.get("/resources/iam/roles").status_code == 200
    assert api.post(url(target.pk, "/suspend")).json()["suspended"] is True
    assert target_api.get("/resources/iam/roles").status_code in (401, 403)
    assert api.post(url(target.pk, "/unsuspend")).json()["suspended"] is False


def test_password_reset_mails_a_temporary_password_never_in_the_response(owner, django_capture_on_commit_callbacks):
    api = api_client_for(owner)
    target = make_principal(email="reset@example.com", permissions=["iam/roles:read"], password="old-Password-123")
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(url(target.pk, "/password/reset"))
    assert response.status_code == 202
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["reset@example.com"]
    body = mail.outbox[0].body
    temporary = next(line.strip() for line in body.splitlines() if line.startswith("    "))
    assert temporary not in response.content.decode()
    target.refresh_from_db()
    assert target.must_change_password and target.check_password(temporary)
    # Until it changes its password the principal can only reach /resources/me.
    target_api = api_client_for(target)
    assert target_api.get("/resources/iam/roles").status_code == 403
    assert target_api.get("/resources/me").status_code == 200
    changed = target_api.post("/resources/me/password",
                              {"currentPassword": temporary, "newPassword": "A-much-better-passphrase-9"},
                              format="json")
    assert changed.status_code == 204
    assert target_api.get("/resources/iam/roles").status_code == 200


def test_me_shows_roles_and_permissions(api_as):
    api = api_as("iam/roles:read", "iam/principals:read")
    data = api.get("/resources/me").json()
    assert data["email"] == api.principal.email and data["iamId"] == api.principal.iam_id
    assert data["permissions"] == ["iam/principals:read", "iam/roles:read"]
    assert len(data["roles"]) == 1


def test_me_password_errors_name_the_field():
    principal = make_principal(password="Correct-horse-battery-1")
    api = api_client_for(principal)
    wrong = api.post("/resources/me/password", {"currentPassword": "nope", "newPassword": "Another-good-one-77"},
                     format="json")
    assert wrong.status_code == 400 and "currentPassword" in wrong.json()["errors"]
    weak = api.post("/resources/me/password", {"currentPassword": "Correct-horse-battery-1", "newPassword": "123"},
                    format="json")
    assert weak.status_code == 400 and "newPassword" in weak.json()["errors"]


# --- abuse cases ----------------------------------------------------------------------------------

def test_writer_cannot_grant_owner_or_roles_they_do_not_hold(api_as):
    api = api_as("iam/principals:*")
    target = make_principal()
    response = api.put(url(target.pk, "/roles"), {"roles": ["system:owner"]}, format="json")
    assert response.status_code == 403
    assert not RoleBinding.objects.filter(principal=target).exists()
    created = api.put(url(uuid.uuid4()), {"email": "new@example.com", "roles": ["system:portal:full"]}, format="json")
    assert created.status_code == 403
    assert not Principal.objects.filter(email="new@example.com").exists()  # nothing half-written


def test_writer_cannot_take_over_someone_more_powerful(api_as, owner):
    api = api_as("iam/principals:*")
    assert api.post(url(owner.pk, "/password/reset")).status_code == 403
    assert api.post(url(owner.pk, "/suspend")).status_code == 403
    assert api.patch(url(owner.pk), {"email": "mine@example.com"}, format="json").status_code == 403
    assert api.delete(url(owner.pk)).status_code == 403
    owner.refresh_from_db()
    assert owner.email == "owner@example.com" and not owner.suspended and len(mail.outbox) == 0


def test_last_owner_cannot_be_removed_suspended_or_deleted(owner):
    other_admin = make_principal(permissions=["*:*"])  # holds everything, but is not an owner
    api = api_client_for(other_admin)
    assert api.put(url(owner.pk, "/roles"), {"roles": []}, format="json").status_code == 409
    assert api.post(url(owner.pk, "/suspend")).status_code == 409
    assert api.delete(url(owner.pk)).status_code == 409
    assert RoleBinding.objects.filter(principal=owner, role__key="system:owner").exists()
    second = make_principal(roles=["system:owner"])
    assert api.put(url(owner.pk, "/roles"), {"roles": []}, format="json").status_code == 200
    assert api.post(url(second.pk, "/suspend")).status_code == 409  # now the last one


def test_nobody_suspends_or_deletes_themselves(owner):
    make_principal(roles=["system:owner"])
    api = api_client_for(owner)
    assert api.post(url(owner.pk, "/suspend")).status_code == 403
    assert api.delete(url(owner.pk)).status_code == 403


def test_scoped_binding_lets_a_principal_manage_exactly_one_principal():
    target, other = make_principal(), make_principal()
    manager = make_principal()
    RoleBinding.objects.create(principal=manager, role=make_role(["iam/principals:*"]),
                               scope=f"iam/principals/{target.pk}")
    api = api_client_for(manager)
    assert api.get(url(target.pk)).status_code == 200
    assert api.get(url(other.pk)).status_code == 403
    assert api.get(BASE).status_code == 403


def test_changing_roles_changes_the_etag(owner):
    api = api_client_for(owner)
    target = make_principal()
    etag = api.get(url(target.pk))["ETag"]
    response = api.put(url(target.pk, "/roles"), {"roles": ["system:portal:full"]}, format="json", HTTP_IF_MATCH=etag)
    assert response.status_code == 200 and response["ETag"] != etag
    same = api.put(url(target.pk, "/roles"), {"roles": ["system:portal:full"]}, format="json",
                   HTTP_IF_MATCH=response["ETag"])
    assert same["ETag"] == response["ETag"]  # nothing changed: same version
    assert api.patch(url(target.pk), {"roles": []}, format="json", HTTP_IF_MATCH=etag).status_code == 409
