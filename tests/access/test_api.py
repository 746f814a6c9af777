"""Access answers on the API: effective access, check access, holders — and who may ask."""

from datetime import timedelta

import pytest
from django.utils import timezone

from roles.models import RoleBinding
from tests.conftest import make_principal, make_role
from tests.factories import ClientFactory

pytestmark = pytest.mark.django_db


def post(client, path, body):
    return client.post(path, body, format="json")


def test_effective_access_lists_each_permission_with_its_source(api_as):
    admin = api_as("iam/principals:read", "iam/roles:read")
    subject = make_principal(permissions=["orders/items:read"])
    RoleBinding.objects.create(principal=subject, role=make_role(["orders/items:write"], key="shop:writer"),
                               scope="orders/items/42", conditions={"ipRanges": ["10.0.0.0/8"]})
    RoleBinding.objects.create(principal=subject, role=make_role(["orders/items:delete"], key="shop:jit"),
                               source="jit", expires_at=timezone.now() + timedelta(minutes=30))
    RoleBinding.objects.create(principal=subject, role=make_role(["orders/refunds:write"], key="shop:old"),
                               expires_at=timezone.now() - timedelta(minutes=1))

    response = admin.get(f"/resources/iam/principals/{subject.pk}/access")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["iamId"] == subject.iam_id and body["type"] == "principal"
    by_permission = {p["permission"]: p for p in body["permissions"]}
    assert by_permission["orders/items:read"]["inForce"] is True
    writer = by_permission["orders/items:write"]
    assert writer["role"] == "shop:writer" and writer["scope"] == "orders/items/42"
    assert writer["conditions"] == {"ipRanges": ["10.0.0.0/8"]} and writer["inForce"] is False
    assert "IP range" in writer["reason"]
    jit = by_permission["orders/items:delete"]
    assert jit["source"] == "jit" and jit["expiresAt"] and jit["inForce"] is True
    old = by_permission["orders/refunds:write"]
    assert old["inForce"] is False and "expired" in old["reason"]

    inside = admin.get(f"/resources/iam/principals/{subject.pk}/access?ip=10.1.2.3").json()
    assert {p["permission"]: p for p in inside["permissions"]}["orders/items:write"]["inForce"] is True


def test_effective_access_of_a_client(api_as):
    admin = api_as("iam/clients:read", "iam/roles:read")
    client = ClientFactory()
    RoleBinding.objects.create(client=client, role=make_role(["reports/daily:read"]))
    body = admin.get(f"/resources/iam/clients/{client.pk}/access").json()
    assert body["type"] == "client" and [p["permission"] for p in body["permissions"]] == ["reports/daily:read"]


def test_effective_access_needs_reading_the_identity_and_the_roles(api_as):
    subject = make_principal(permissions=["orders/items:read"])
    path = f"/resources/iam/principals/{subject.pk}/access"
    assert api_as("iam/principals:read").get(path).status_code == 403
    assert api_as("iam/roles:read").get(path).status_code == 403
    assert api_as("iam/clients:read", "iam/roles:read").get(path).status_code == 403
    assert api_as("iam/principals:read", "iam/roles:read").get(path).status_code == 200
    assert api_as("iam/principals:read", "iam/roles:read").get(
        "/resources/iam/principals/not-a-uuid/access").status_code == 400
    assert api_as("iam/principals:read", "iam/roles:read").get(
        "/resources/iam/principals/00000000-0000-0000-0000-000000000000/access").status_code == 404
    bad_ip = api_as("iam/principals:read", "iam/roles:read").get(path + "?ip=nope")
    assert bad_ip.status_code == 400 and "ip" in bad_ip.json()["errors"]


def test_a_principal_that_reads_only_itself_cannot_ask_about_others(api_as):
    other = make_principal(permissions=["orders/items:read"])
    me = api_as("iam/roles:read", "iam/authorize:read")
    RoleBinding.objects.create(principal=me.principal, role=make_role(["iam/principals:read"]),
                               scope=f"iam/principals/{me.principal.pk}")
    assert me.get(f"/resources/iam/principals/{me.principal.pk}/access").status_code == 200
    assert me.get(f"/resources/iam/principals/{other.pk}/access").status_code == 403
    own = post(me, "/resources/iam/access/check", {"iamId": me.principal.iam_id, "permission": "iam/roles:read"})
    assert own.status_code == 200 and own.json()["allowed"] is True
    refused = post(me, "/resources/iam/access/check", {"iamId": other.iam_id, "permission": "orders/items:read"})
    assert refused.status_code == 403
    # Asking about an identity that does not exist is refused the same way: no probing for ids.
    ghost = post(me, "/resources/iam/access/check",
                 {"iamId": "iam-Principal-00000000-0000-0000-0000-000000000000", "permission": "a/b:read"})
    assert ghost.status_code == 403


def test_check_access_gives_the_engines_reason(api_as):
    checker = api_as("iam/authorize:read", "iam/principals:read")
    subject = make_principal(permissions=["orders/items:read"])
    RoleBinding.objects.create(principal=subject, role=make_role(["orders/items:write"], key="shop:night"),
                               conditions={"timeWindow": {"start": "22:00", "end": "06:00"}})
    yes = post(checker, "/resources/iam/access/check", {"iamId": subject.iam_id, "permission": "orders/items:read"})
    assert yes.status_code == 200 and yes.json()["allowed"] is True and yes.json()["role"]
    assert "granted by role" in yes.json()["reason"]
    day = post(checker, "/resources/iam/access/check", {
        "iamId": subject.iam_id, "permission": "orders/items:write", "context": {"time": "2026-01-05T12:00:00Z"}})
    night = post(checker, "/resources/iam/access/check", {
        "iamId": subject.iam_id, "permission": "orders/items:write", "context": {"time": "2026-01-05T23:00:00Z"}})
    assert day.json()["allowed"] is False and "time window" in day.json()["reason"]
    assert night.json()["allowed"] is True and night.json()["role"] == "shop:night"
    none = post(checker, "/resources/iam/access/check", {"iamId": subject.iam_id, "permission": "x/y:delete"})
    assert none.json() | {"allowed": False} == none.json() and "no role grants" in none.json()["reason"]


def test_check_access_is_not_capped_by_the_askers_token_or_address(api_as):
    checker = api_as("iam/authorize:read", "iam/principals:read")
    subject = make_principal()
    RoleBinding.objects.create(principal=subject, role=make_role(["orders/items:write"]),
                               conditions={"ipRanges": ["10.0.0.0/8"]})
    # The asker comes from 127.0.0.1: the subject's condition is judged by the address asked about.
    inside = post(checker, "/resources/iam/access/check", {
        "iamId": subject.iam_id, "permission": "orders/items:write", "context": {"ip": "10.0.0.9"}})
    outside = post(checker, "/resources/iam/access/check", {
        "iamId": subject.iam_id, "permission": "orders/items:write"})
    assert inside.json()["allowed"] is True
    assert outside.json()["allowed"] is False and "IP range" in outside.json()["reason"]


@pytest.mark.parametrize("body, field", [
    ({"iamId": "nobody", "permission": "a/b:read"}, "iamId"),
    ({"iamId": "iam-Principal-zzz", "permission": "a/b:read"}, "iamId"),
    ({"iamId": "iam-Principal-00000000-0000-0000-0000-000000000000", "permission": "nocolon"}, "permission"),
    ({"iamId": "iam-Principal-00000000-0000-0000-0000-000000000000", "permission": "a/b:read",
      "context": {"ip": "x"}}, "context.ip"),
    ({"iamId": "iam-Principal-00000000-0000-0000-0000-000000000000", "permission": "a/b:read",
      "context": {"when": "now"}}, "context.when"),
    ({"permission": "a/b:read"}, "iamId"),
    ({"iamId": "iam-Principal-00000000-0000-0000-0000-000000000000", "permission": "a/b:read", "extra": 1}, "extra"),
])
def test_check_access_bad_input_is_400_naming_the_field(api_as, body, field):
    response = post(api_as("iam/authorize:read", "iam/principals:read"), "/resources/iam/access/check", body)
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"], response.json()


def test_check_access_needs_the_check_permission(api_as):
    subject = make_principal()
    body = {"iamId": subject.iam_id, "permission": "a/b:read"}
    assert post(api_as("iam/principals:read"), "/resources/iam/access/check", body).status_code == 403
    assert post(api_as("iam/authorize:read"), "/resources/iam/access/check", body).status_code == 403


def test_holders_lists_everyone_who_holds_it_and_through_what(api_as):
    asker = api_as("iam/authorize:read", "iam/principals:read", "iam/clients:read")
    reader = make_role(["orders/*:read"], key="shop:reader")
    everywhere = make_principal(email="a@example.com")
    RoleBinding.objects.create(principal=everywhere, role=reader)
    scoped = make_principal(email="b@example.com")
    RoleBinding.objects.create(principal=scoped, role=reader, scope="orders/items/1")
    elsewhere = make_principal(email="c@example.com")
    RoleBinding.objects.create(principal=elsewhere, role=reader, scope="orders/items/2")
    expired = make_principal(email="d@example.com")
    RoleBinding.objects.create(principal=expired, role=reader, expires_at=timezone.now() - timedelta(seconds=1))
    suspended = make_principal(email="e@example.com", suspended=True)
    RoleBinding.objects.create(principal=suspended, role=reader)
    client = ClientFactory(name="reporter")
    RoleBinding.objects.create(client=client, role=reader, conditions={"ipRanges": ["10.0.0.0/8"]})
    make_principal(email="f@example.com", permissions=["orders/items:write"])

    response = post(asker, "/resources/iam/access/holders", {"permission": "orders/items:read",
                                                             "resource": "orders/items/1"})
    assert response.status_code == 200, response.content
    holders = {h["name"]: h for h in response.json()["holders"]}
    assert set(holders) == {"a@example.com", "b@example.com", "e@example.com", "reporter"}
    assert holders["a@example.com"]["allowed"] is True and holders["a@example.com"]["via"][0]["role"] == "shop:reader"
    assert holders["b@example.com"]["via"][0]["scope"] == "orders/items/1"
    assert holders["e@example.com"]["allowed"] is False and "suspended" in holders["e@example.com"]["reason"]
    assert holders["reporter"]["type"] == "client" and holders["reporter"]["allowed"] is False
    assert response.json()["truncated"] is False

    limited = post(asker, "/resources/iam/access/holders", {"permission": "orders/items:read", "limit": 1})
    assert len(limited.json()["holders"]) == 1 and limited.json()["truncated"] is True


def test_holders_leaves_out_identities_the_asker_cannot_read(api_as):
    reader = make_role(["orders/items:read"])
    visible = make_principal(email="visible@example.com")
    hidden = make_principal(email="hidden@example.com")
    client = ClientFactory(name="hidden-client")
    for identity in (visible, hidden):
        RoleBinding.objects.create(principal=identity, role=reader)
    RoleBinding.objects.create(client=client, role=reader)
    asker = api_as("iam/authorize:read")
    RoleBinding.objects.create(principal=asker.principal, role=make_role(["iam/principals:read"]),
                               scope=f"iam/principals/{visible.pk}")
    names = [h["name"] for h in post(asker, "/resources/iam/access/holders",
                                     {"permission": "orders/items:read"}).json()["holders"]]
    assert names == ["visible@example.com"]
    # Without the check permission there is no answer at all.
    assert post(api_as("iam/principals:read"), "/resources/iam/access/holders",
                {"permission": "orders/items:read"}).status_code == 403


@pytest.mark.parametrize("body, field", [
    ({"permission": "bad"}, "permission"),
    ({}, "permission"),
    ({"permission": "a/b:read", "limit": 0}, "limit"),
    ({"permission": "a/b:read", "limit": "many"}, "limit"),
    ({"permission": "a/b:read", "context": {"time": "yesterday"}}, "context.time"),
])
def test_holders_bad_input_is_400_naming_the_field(api_as, body, field):
    response = post(api_as("iam/authorize:read"), "/resources/iam/access/holders", body)
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"], response.json()


def test_holders_and_effective_access_include_object_delegations(api_as):
    from guardian.shortcuts import assign_perm

    app = ClientFactory(name="delegated-app")
    delegate = make_principal(email="delegate@example.com")
    assign_perm("clients.change_client", delegate, app)
    asker = api_as("iam/authorize:read", "iam/principals:read", "iam/roles:read")
    response = post(asker, "/resources/iam/access/holders",
                    {"permission": "iam/clients:write", "resource": f"iam/clients/{app.pk}"})
    holders = {h["name"]: h for h in response.json()["holders"]}
    assert holders["delegate@example.com"]["allowed"] is True
    assert holders["delegate@example.com"]["via"][0]["source"] == "delegation"
    # Elsewhere the delegation grants nothing.
    other = post(asker, "/resources/iam/access/holders",
                 {"permission": "iam/clients:write", "resource": "iam/clients/00000000-0000-0000-0000-000000000000"})
    assert "delegate@example.com" not in {h["name"] for h in other.json()["holders"]}
    effective = asker.get(f"/resources/iam/principals/{delegate.pk}/access").json()["permissions"]
    assert effective == [{"permission": "iam/clients:write", "role": None, "binding": None, "source": "delegation",
                          "scope": f"iam/clients/{app.pk}", "conditions": {}, "startsAt": None, "expiresAt": None,
                          "inForce": True, "reason": None}]
