"""The console's real forms: ACL entries as rows, conditions as fields, properties as key/value rows,
principal creation with name, roles and invitation, bindings granted and removed inline through the
services (least privilege and refusals as messages, never a 500)."""

from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client as HttpClient
from django.utils import timezone

from roles.models import Role, RoleBinding
from tests.conftest import make_principal, make_role

pytestmark = pytest.mark.django_db


def console(principal):
    client = HttpClient()
    client.force_login(principal)
    return client


def messages_of(response):
    return [str(m) for m in response.context["messages"]] if response.context else []


@pytest.fixture(autouse=True)
def _after_commit_now(monkeypatch):
    from django.db import transaction

    monkeypatch.setattr(transaction, "on_commit", lambda func, using=None, robust=False: func())


def test_a_role_is_edited_as_rows_with_suggestions(owner):
    make_role(["orders/items:read"], key="shop:reader")
    http = console(owner)
    page = http.get("/admin/roles/role/add/").content.decode()
    assert 'name="acl_entries-resource"' in page and '<option value="orders/items">' in page
    done = http.post("/admin/roles/role/add/", {
        "key": "shop:clerk", "description": "Clerks",
        "acl_entries-resource": ["orders/items", "orders/refunds", ""],
        "acl_entries-permission": ["read", "write", ""],
    })
    assert done.status_code == 302
    assert Role.objects.get(key="shop:clerk").acl_entries == [
        {"resource": "orders/items", "permission": "read"}, {"resource": "orders/refunds", "permission": "write"}]
    half = http.post("/admin/roles/role/add/", {"key": "shop:half", "description": "",
                                               "acl_entries-resource": ["orders/items"],
                                               "acl_entries-permission": [""]})
    assert half.status_code == 200 and "Row 1: both a resource and a permission" in half.content.decode()
    assert not Role.objects.filter(key="shop:half").exists()


def test_a_principal_is_created_with_name_roles_and_an_invitation(owner):
    clerk = make_role(["orders/items:read"], key="shop:clerk")
    http = console(owner)
    page = http.get("/admin/principals/principal/add/").content.decode()
    assert 'name="name"' in page and 'name="roles"' in page and 'name="invitation"' in page
    done = http.post("/admin/principals/principal/add/", {"email": "new@example.com", "name": "Nina New",
                                                          "roles": [str(clerk.pk)], "invitation": "invite"})
    assert done.status_code == 302, done.content[:500]
    from django.contrib.auth import get_user_model

    principal = get_user_model().objects.get(email="new@example.com")
    assert principal.properties == {"name": "Nina New"} and principal.must_change_password
    assert RoleBinding.objects.filter(principal=principal, role=clerk).exists()
    assert [m.to for m in mail.outbox] == [["new@example.com"]]


def test_a_narrow_administrator_cannot_give_a_role_it_does_not_hold():
    admin_role = make_role(["prod/db:write"], key="ops:db")
    narrow = make_principal(roles=["system:portal:full"], permissions=["iam/principals:write", "iam/principals:read",
                                                                        "iam/roles:read"])
    http = console(narrow)
    refused = http.post("/admin/principals/principal/add/", {"email": "x@example.com", "roles": [str(admin_role.pk)],
                                                             "invitation": "none"}, follow=True)
    assert refused.status_code == 200 and any("ops:db" in m or "prod/db" in m for m in messages_of(refused))
    from django.contrib.auth import get_user_model

    assert not get_user_model().objects.filter(email="x@example.com").exists()  # one atomic write: nothing made


def test_properties_are_key_value_rows_and_a_removed_row_is_removed(owner):
    principal = make_principal(properties={"name": "Old", "team": "ops", "tier": 2})
    http = console(owner)
    page = http.get(f"/admin/principals/principal/{principal.pk}/change/").content.decode()
    assert 'name="properties-key"' in page and 'value="team"' in page
    done = http.post(f"/admin/principals/principal/{principal.pk}/change/", {
        "email": principal.email, "properties-key": ["name", "tier", ""], "properties-value": ["New", "3", ""],
        **_binding_formset(principal, prefix=_inline_prefix(http, principal)),
    })
    assert done.status_code == 302, done.content.decode()[:3000]
    principal.refresh_from_db()
    assert principal.properties == {"name": "New", "tier": 3}


def _binding_formset(principal, rows=(), existing=(), prefix="bindings"):
    data = {f"{prefix}-TOTAL_FORMS": str(len(existing) + len(rows)), f"{prefix}-INITIAL_FORMS": str(len(existing)),
            f"{prefix}-MIN_NUM_FORMS": "0", f"{prefix}-MAX_NUM_FORMS": "1000"}
    for i, (binding, delete) in enumerate(existing):
        data[f"{prefix}-{i}-id"] = str(binding.pk)
        data[f"{prefix}-{i}-principal"] = str(principal.pk)
        if delete:
            data[f"{prefix}-{i}-DELETE"] = "on"
    for j, row in enumerate(rows, start=len(existing)):
        data[f"{prefix}-{j}-principal"] = str(principal.pk)
        data.update({f"{prefix}-{j}-{k}": v for k, v in row.items()})
    return data


def _inline_prefix(http, principal):
    page = http.get(f"/admin/principals/principal/{principal.pk}/change/")
    return next(f.prefix for f in page.context["inline_admin_formsets"][0:1] for f in [f.formset])


def test_roles_are_granted_and_removed_inline_through_the_services(owner):
    clerk = make_role(["orders/items:read"], key="shop:clerk")
    principal = make_principal(email="p@example.com")
    http = console(owner)
    prefix = _inline_prefix(http, principal)
    base = {"email": principal.email, "properties-key": [""], "properties-value": [""]}
    done = http.post(f"/admin/principals/principal/{principal.pk}/change/",
                     {**base, **_binding_formset(principal, rows=[{"role": str(clerk.pk), "scope": ""}], prefix=prefix)})
    assert done.status_code == 302
    assert done["Location"] == "/admin/principals/principal/", messages_of(http.get(done["Location"]))
    binding = RoleBinding.objects.get(principal=principal, role=clerk)
    assert binding.created_by == owner.iam_id
    removed = http.post(f"/admin/principals/principal/{principal.pk}/change/",
                        {**base, **_binding_formset(principal, existing=[(binding, True)], prefix=prefix)})
    assert removed.status_code == 302
    assert not RoleBinding.objects.filter(pk=binding.pk).exists()


def test_an_expired_binding_is_refused_with_the_field_named(owner):
    clerk = make_role(["orders/items:read"], key="shop:clerk")
    principal = make_principal()
    http = console(owner)
    past = (timezone.now() - timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S")
    answer = http.post("/admin/roles/rolebinding/add/", {"principal": str(principal.pk), "role": str(clerk.pk),
                                                         "scope": "", "expires_at_0": past[:10],
                                                         "expires_at_1": past[11:]})
    assert answer.status_code == 200 and "This moment has passed" in answer.content.decode()
    assert not RoleBinding.objects.filter(principal=principal).exists()


def test_conditions_are_fields_and_saved_as_the_api_saves_them(owner):
    clerk = make_role(["orders/items:read"], key="shop:clerk")
    principal = make_principal()
    http = console(owner)
    bad = http.post("/admin/roles/rolebinding/add/", {"principal": str(principal.pk), "role": str(clerk.pk),
                                                      "ip_ranges": "not-a-range"})
    assert bad.status_code == 200 and "is not an IP range" in bad.content.decode()
    half = http.post("/admin/roles/rolebinding/add/", {"principal": str(principal.pk), "role": str(clerk.pk),
                                                       "start": "09:00"})
    assert half.status_code == 200 and "both hours" in half.content.decode()
    done = http.post("/admin/roles/rolebinding/add/", {
        "principal": str(principal.pk), "role": str(clerk.pk), "ip_ranges": "10.0.0.0/8\n192.0.2.0/24",
        "days": ["mon", "fri"], "start": "09:00", "end": "17:30", "timezone": "Europe/Stockholm"})
    assert done.status_code == 302
    assert RoleBinding.objects.get(principal=principal).conditions == {
        "ipRanges": ["10.0.0.0/8", "192.0.2.0/24"],
        "timeWindow": {"start": "09:00", "end": "17:30", "days": ["mon", "fri"], "timezone": "Europe/Stockholm"}}


def test_granting_oneself_a_role_inline_is_refused_as_a_message():
    clerk = make_role(["orders/items:read"], key="shop:clerk")
    admin = make_principal(roles=["system:portal:full", clerk.key],
                           permissions=["iam/principals:read", "iam/principals:write", "iam/roles:read"])
    other_role = make_role(["orders/items:read"], key="shop:clerk2")
    http = console(admin)
    prefix = _inline_prefix(http, admin)
    base = {"email": admin.email, "properties-key": [""], "properties-value": [""]}
    refused = http.post(f"/admin/principals/principal/{admin.pk}/change/",
                        {**base, **_binding_formset(admin, rows=[{"role": str(other_role.pk)}], prefix=prefix)},
                        follow=True)
    assert refused.status_code == 200 and any(m.startswith("You cannot") for m in messages_of(refused)), \
        messages_of(refused)
    assert not RoleBinding.objects.filter(principal=admin, role=other_role).exists()


def test_a_narrow_administrator_cannot_change_a_jit_eligible_victim_through_the_form():
    from datetime import timedelta as td

    from jit import services as jit_services
    from jit.models import Eligibility

    power = make_role(["prod/db:write"], key="ops:db")
    victim = make_principal(email="victim@example.com")
    jit_services.save_eligibility(None, Eligibility(principal=victim, role=power, max_duration=td(hours=1),
                                                    approval_required=False, justification_required=False))
    narrow = make_principal(roles=["system:portal:full"], permissions=["iam/principals:read", "iam/principals:write"])
    http = console(narrow)
    prefix = _inline_prefix(http, victim)
    refused = http.post(f"/admin/principals/principal/{victim.pk}/change/", {
        "email": "attacker@example.com", "properties-key": [""], "properties-value": [""],
        **_binding_formset(victim, prefix=prefix)}, follow=True)
    assert refused.status_code == 200 and any("ops:db" in m or "prod/db" in m for m in messages_of(refused)), \
        messages_of(refused)
    victim.refresh_from_db()
    assert victim.email == "victim@example.com"


@pytest.mark.parametrize("posted", ['[{"resource": "orders/items", "permission": "read"}]', "123", "not json", "{}"])
def test_acl_entries_in_the_apis_json_spelling_are_read_or_refused_never_a_500(owner, posted):
    answer = console(owner).post("/admin/roles/role/add/", {"key": "shop:json", "description": "", "acl_entries": posted})
    made = Role.objects.filter(key="shop:json").first()
    if posted.startswith("[{"):
        assert answer.status_code == 302 and made.acl_entries == [{"resource": "orders/items", "permission": "read"}]
    else:
        assert answer.status_code == 200 and made is None
