"""/resources/iam/roles and the check API POST /resources/iam/authorize."""

import pytest

from roles.models import Role, RoleBinding
from tests.conftest import api_client_for, make_principal, make_role

pytestmark = pytest.mark.django_db
BASE = "/resources/iam/roles"
ROLE = {"description": "Support", "acl": {"entries": [{"resource": "iam/principals", "permission": "read"}]}}


def test_list_and_get_with_etag(api_as):
    api = api_as("iam/roles:read")
    keys = [r["key"] for r in api.get(BASE).json()["results"]]
    assert {"system:owner", "system:portal:full"} <= set(keys)
    owner = api.get(f"{BASE}/system:owner")
    assert owner.status_code == 200 and owner["ETag"]
    assert owner.json()["isSystem"] is True and owner.json()["acl"] == {"entries": [{"resource": "*", "permission": "*"}]}
    assert api.get(f"{BASE}/no:such").status_code == 404


def test_create_replace_delete_custom_role(owner):
    api = api_client_for(owner)
    created = api.put(f"{BASE}/support:agent", ROLE, format="json")
    assert created.status_code == 201 and created.json()["key"] == "support:agent"
    replaced = api.put(f"{BASE}/support:agent", {**ROLE, "description": "Agents"}, format="json",
                       HTTP_IF_MATCH=created["ETag"])
    assert replaced.status_code == 200 and replaced.json()["description"] == "Agents"
    stale = api.put(f"{BASE}/support:agent", {**ROLE, "description": "Stale"}, format="json",
                    HTTP_IF_MATCH=created["ETag"])
    assert stale.status_code == 409
    assert Role.objects.get(key="support:agent").description == "Agents"
    assert api.delete(f"{BASE}/support:agent").status_code == 204
    assert not Role.objects.filter(key="support:agent").exists()


def test_system_roles_are_immutable(owner):
    api = api_client_for(owner)
    assert api.put(f"{BASE}/system:owner", ROLE, format="json").status_code == 403
    assert api.delete(f"{BASE}/system:portal:full").status_code == 403
    assert Role.objects.get(key="system:owner").acl_entries == [{"resource": "*", "permission": "*"}]


@pytest.mark.parametrize("key,body,field", [
    ("system:mine", ROLE, "key"),
    ("NoNamespace", ROLE, "key"),
    ("ok:role", {"acl": {"entries": [{"resource": "bad resource!", "permission": "read"}]}}, "acl"),
    ("ok:role", {"acl": {"entries": [{"resource": "x", "permission": "read", "extra": 1}]}}, "acl.entries[0].extra"),
    ("ok:role", {"acl": "everything"}, "acl"),
])
def test_bad_roles_are_400_naming_the_field(owner, key, body, field):
    response = api_client_for(owner).put(f"{BASE}/{key}", body, format="json")
    assert response.status_code == 400
    assert any(name == field or name.startswith(field + ".") for name in response.json()["errors"]), response.json()
    assert not Role.objects.filter(key=key).exists()


def test_cannot_create_or_widen_a_role_beyond_what_one_holds(api_as):
    api = api_as("iam/roles:*", "iam/principals:read")
    assert api.put(f"{BASE}/support:agent", ROLE, format="json").status_code == 201
    wider = {"acl": {"entries": [{"resource": "*", "permission": "*"}]}}
    assert api.put(f"{BASE}/support:agent", wider, format="json").status_code == 403
    assert api.put(f"{BASE}/evil:all", wider, format="json").status_code == 403
    assert not Role.objects.filter(key="evil:all").exists()


def test_role_still_bound_cannot_be_deleted(owner):
    role = make_role(["iam/roles:read"], key="team:reader")
    make_principal(roles=["team:reader"])
    response = api_client_for(owner).delete(f"{BASE}/team:reader")
    assert response.status_code == 409
    assert Role.objects.filter(pk=role.pk).exists()


def test_roles_need_their_permissions(api_as, anonymous_api):
    assert anonymous_api.get(BASE).status_code == 401
    api = api_as("iam/principals:read")
    assert api.get(BASE).status_code == 403
    assert api.put(f"{BASE}/support:agent", ROLE, format="json").status_code == 403


def test_authorize_answers_for_another_identity(api_as):
    checker = api_as("iam/authorize:read")
    subject = make_principal(permissions=["orders/items:read"])
    RoleBinding.objects.create(principal=subject, role=make_role(["orders/items:write"]),
                               conditions={"ipRanges": ["10.0.0.0/8"]})
    yes = checker.post("/resources/iam/authorize", {"iamId": subject.iam_id, "permission": "orders/items:read"},
                       format="json").json()
    assert yes["allowed"] is True and yes["reason"]
    no = checker.post("/resources/iam/authorize", {"iamId": subject.iam_id, "permission": "orders/items:delete"},
                      format="json").json()
    assert no["allowed"] is False and "orders/items:delete" in no["reason"]
    inside = checker.post("/resources/iam/authorize", {"iamId": subject.iam_id, "permission": "orders/items:write",
                                                       "context": {"ip": "10.2.3.4"}}, format="json").json()
    outside = checker.post("/resources/iam/authorize", {"iamId": subject.iam_id, "permission": "orders/items:write",
                                                        "context": {"ip": "192.0.2.1"}}, format="json").json()
    assert inside["allowed"] is True and outside["allowed"] is False
    unknown = checker.post("/resources/iam/authorize", {"iamId": "iam-Principal-nobody", "permission": "a:b"},
                           format="json").json()
    assert unknown["allowed"] is False


def test_authorize_validates_and_needs_its_permission(api_as):
    checker = api_as("iam/authorize:read")
    bad = checker.post("/resources/iam/authorize", {"iamId": "x", "permission": "no-colon"}, format="json")
    assert bad.status_code == 400 and "permission" in bad.json()["errors"]
    bad_ip = checker.post("/resources/iam/authorize", {"iamId": "x", "permission": "a:b", "context": {"ip": "nope"}},
                          format="json")
    assert bad_ip.status_code == 400 and any(k.startswith("context") for k in bad_ip.json()["errors"])
    assert api_as("iam/roles:read").post("/resources/iam/authorize", {"iamId": "x", "permission": "a:b"},
                                         format="json").status_code == 403


def test_unknown_api_path_is_problem_json(api_as):
    response = api_as("iam/roles:read").get("/resources/iam/nothing-here")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/problem+json")
