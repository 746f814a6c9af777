"""POST /resources/graph/query: filters over principals and clients, cursor pages, read permissions, 400s."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from roles.models import Role, RoleBinding
from tests.conftest import make_principal, make_role
from tests.factories import ClientFactory

pytestmark = pytest.mark.django_db
URL = "/resources/graph/query"


def query(client, *filters, **body):
    body.setdefault("filters", [{"field": f, "op": o, "value": v} for f, o, v in filters])
    return client.post(URL, body, format="json")


def names(response):
    assert response.status_code == 200, response.content
    # The asking principals (user<n>@example.com) are identities too: left out of the comparison.
    found = (item["email"] or item["name"] for item in response.json()["results"])
    return sorted(name for name in found if not re.fullmatch(r"user\d+@example\.com", name))


@pytest.fixture
def people(db):
    portal = Role.objects.get(key="system:portal:full")
    ana = make_principal(email="ana@example.com", properties={"name": "Ana", "team": "ops", "level": 3})
    RoleBinding.objects.create(principal=ana, role=portal)
    bob = make_principal(email="bob@corp.example", properties={"team": "dev", "level": 7}, suspended=True)
    RoleBinding.objects.create(principal=bob, role=make_role(["a/b:read"], key="support:agent"))
    cid = make_principal(email="cid@example.com", properties={"team": "ops"})
    RoleBinding.objects.create(principal=cid, role=portal, expires_at=timezone.now() - timedelta(seconds=1))
    app = ClientFactory(name="billing", properties={"team": "ops"})
    RoleBinding.objects.create(client=app, role=make_role(["c/d:read"], key="support:bot"))
    return {"ana": ana, "bob": bob, "cid": cid, "app": app}


@pytest.fixture
def reader(api_as):
    return api_as("iam/principals:read", "iam/clients:read")


def test_the_hantera_example_roles_contains(reader, people):
    response = query(reader, ("roles", "contains", "system:portal:full"), resource="identity", limit=50)
    assert names(response) == ["ana@example.com"]  # cid's binding expired
    item = response.json()["results"][0]
    assert item["iamId"] == people["ana"].iam_id and item["type"] == "principal"
    assert item["roles"] == ["system:portal:full"] and item["properties"]["team"] == "ops" and item["createdAt"]


@pytest.mark.parametrize("filters, expected", [
    ([("roles", "startsWith", "support:")], ["billing", "bob@corp.example"]),
    ([("roles", "in", ["support:bot", "system:portal:full"])], ["ana@example.com", "billing"]),
    ([("roles", "neq", "system:portal:full"), ("type", "eq", "principal")], ["bob@corp.example", "cid@example.com"]),
    ([("email", "eq", "ANA@example.com")], ["ana@example.com"]),
    ([("email", "neq", "ana@example.com")], ["bob@corp.example", "cid@example.com"]),
    ([("email", "startsWith", "b")], ["bob@corp.example"]),
    ([("email", "contains", "CORP")], ["bob@corp.example"]),
    ([("email", "in", ["cid@example.com", "x@example.com"])], ["cid@example.com"]),
    ([("properties.team", "eq", "ops")], ["ana@example.com", "billing", "cid@example.com"]),
    ([("properties.team", "eq", "ops"), ("type", "eq", "client")], ["billing"]),
    ([("properties.team", "neq", "ops")], ["bob@corp.example"]),
    ([("properties.team", "in", ["dev"])], ["bob@corp.example"]),
    ([("properties.name", "startsWith", "An")], ["ana@example.com"]),
    ([("properties.name", "contains", "na")], ["ana@example.com"]),
    ([("properties.level", "gt", 5)], ["bob@corp.example"]),
    ([("properties.level", "lt", 5)], ["ana@example.com"]),
    ([("properties.level", "eq", 3)], ["ana@example.com"]),
    ([("suspended", "eq", True)], ["bob@corp.example"]),
    ([("suspended", "neq", True), ("type", "in", ["principal"])], ["ana@example.com", "cid@example.com"]),
    ([("type", "neq", "principal")], ["billing"]),
])
def test_each_field_and_operator(reader, people, filters, expected):
    assert names(query(reader, *filters)) == expected


def test_created_at(reader, people):
    mid = people["bob"].created_at
    assert "ana@example.com" in names(query(reader, ("createdAt", "lt", mid.isoformat())))
    later = names(query(reader, ("createdAt", "gt", mid.isoformat())))
    assert "ana@example.com" not in later and "cid@example.com" in later and "billing" in later
    assert names(query(reader, ("createdAt", "eq", mid.isoformat()))) == ["bob@corp.example"]


def test_cursor_pages_walk_everything_once(reader, people):
    seen, cursor = [], None
    for _ in range(10):
        body = {"limit": 1, "filters": []}
        if cursor:
            body["cursor"] = cursor
        page = reader.post(URL, body, format="json").json()
        seen.extend(item["iamId"] for item in page["results"])
        cursor = page["cursor"]
        if cursor is None:
            break
    expected = {p.iam_id for p in people.values()} | {reader.principal.iam_id}
    assert sorted(seen) == sorted(expected) and len(seen) == len(set(seen))


def test_a_cursor_is_signed_and_bound_to_its_query(reader, people):
    page = reader.post(URL, {"limit": 1}, format="json").json()
    other = reader.post(URL, {"limit": 1, "cursor": page["cursor"],
                              "filters": [{"field": "type", "op": "eq", "value": "client"}]}, format="json")
    assert other.status_code == 400 and "cursor" in other.json()["errors"]
    forged = reader.post(URL, {"limit": 1, "cursor": page["cursor"][:-2] + "xx"}, format="json")
    assert forged.status_code == 400 and "cursor" in forged.json()["errors"]


def test_each_identity_type_needs_its_read_permission(api_as, people):
    principals_only = api_as("iam/principals:read")
    assert all(i["type"] == "principal" for i in principals_only.post(URL, {}, format="json").json()["results"])
    assert query(principals_only, resource="client").status_code == 403
    clients_only = api_as("iam/clients:read")
    assert names(query(clients_only)) == ["billing"]
    assert query(clients_only, resource="principal").status_code == 403
    nothing = api_as("iam/roles:read")
    assert query(nothing).status_code == 403
    # One that may read only itself cannot list anybody.
    own = api_as()
    RoleBinding.objects.create(principal=own.principal, role=make_role(["iam/principals:read"]),
                               scope=f"iam/principals/{own.principal.pk}")
    assert query(own).status_code == 403


@pytest.mark.parametrize("body, field", [
    ({"filters": [{"field": "password", "op": "eq", "value": "x"}]}, "filters[0].field"),
    ({"filters": [{"field": "email", "op": "like", "value": "x"}]}, "filters[0].op"),
    ({"filters": [{"field": "email", "op": "gt", "value": "x"}]}, "filters[0].op"),
    ({"filters": [{"field": "email", "op": "eq", "value": 3}]}, "filters[0].value"),
    ({"filters": [{"field": "email", "op": "in", "value": "x"}]}, "filters[0].value"),
    ({"filters": [{"field": "suspended", "op": "eq", "value": "yes"}]}, "filters[0].value"),
    ({"filters": [{"field": "type", "op": "eq", "value": "robot"}]}, "filters[0].value"),
    ({"filters": [{"field": "createdAt", "op": "gt", "value": "last week"}]}, "filters[0].value"),
    ({"filters": [{"field": "properties.a__b", "op": "eq", "value": 1}]}, "filters[0].field"),
    ({"filters": [{"field": "properties.", "op": "eq", "value": 1}]}, "filters[0].field"),
    ({"filters": [{"field": "properties.x", "op": "eq", "value": {"a": 1}}]}, "filters[0].value"),
    ({"filters": [{"field": "properties.x", "op": "gt", "value": True}]}, "filters[0].value"),
    ({"filters": [{"field": "roles", "op": "contains", "value": "a\u0000b"}]}, "filters[0].value"),
    ({"filters": [{"field": "roles", "op": "contains"}]}, "filters[0].value"),
    ({"filters": [{"field": "roles", "op": "contains", "value": "x", "extra": 1}]}, "filters[0].extra"),
    ({"filters": "roles"}, "filters"),
    ({"filters": [{"field": "suspended", "op": "eq", "value": False}] * 21}, "filters"),
    ({"resource": "orders"}, "resource"),
    ({"limit": 0}, "limit"),
    ({"limit": 501}, "limit"),
    ({"cursor": "garbage"}, "cursor"),
    ({"nope": 1}, "nope"),
])
def test_bad_input_is_400_naming_the_field(reader, body, field):
    response = reader.post(URL, body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"], response.json()
