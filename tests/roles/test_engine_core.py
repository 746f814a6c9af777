"""The engine: wildcards, expiry to the second, scopes, conditions, token scopes, cache and query budget."""

from datetime import datetime, timedelta, timezone as dt_timezone

import pytest
import time_machine
from django.utils import timezone

from roles import engine
from roles.models import Role, RoleBinding
from tests.conftest import api_client_for, make_principal, make_role

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("entry,permission,allowed", [
    ("iam/principals:read", "iam/principals:read", True),
    ("iam/principals:read", "iam/principals:write", False),
    ("iam/principals:*", "iam/principals:delete", True),
    ("iam/*:read", "iam/roles:read", True),
    ("iam/*:read", "audit/events:read", False),
    ("*:*", "anything/at/all:approve", True),
])
def test_wildcards(entry, permission, allowed):
    principal = make_principal(permissions=[entry])
    assert engine.decide(principal, permission).allowed is allowed


def test_denial_names_the_permission_and_allow_names_the_role():
    principal = make_principal(permissions=["iam/roles:read"])
    denied = engine.decide(principal, "iam/principals:read")
    assert not denied.allowed and "iam/principals:read" in denied.reason
    allowed = engine.decide(principal, "iam/roles:read")
    assert allowed.allowed and allowed.binding and allowed.role.startswith("test:")


def test_suspended_identity_is_denied_whatever_it_holds():
    principal = make_principal(roles=["system:owner"], suspended=True)
    decision = engine.decide(principal, "iam/principals:read")
    assert not decision.allowed and "suspended" in decision.reason


def test_expired_binding_denied_at_expiry_to_the_second_without_any_sweep():
    principal = make_principal()
    expires = timezone.now().replace(microsecond=0) + timedelta(minutes=10)
    RoleBinding.objects.create(principal=principal, role=make_role(["iam/roles:read"]), expires_at=expires)
    engine.decide(principal, "iam/roles:read")  # warm the cache while it is valid
    with time_machine.travel(expires - timedelta(seconds=1), tick=False):
        assert engine.decide(principal, "iam/roles:read").allowed
    with time_machine.travel(expires, tick=False):
        decision = engine.decide(principal, "iam/roles:read")
        assert not decision.allowed and "expired" in decision.reason
    assert RoleBinding.objects.filter(principal=principal).count() == 1  # nothing swept: the engine decided


def test_binding_not_yet_started_is_denied():
    principal = make_principal()
    RoleBinding.objects.create(principal=principal, role=make_role(["iam/roles:read"]),
                               starts_at=timezone.now() + timedelta(hours=1))
    assert not engine.decide(principal, "iam/roles:read").allowed


def test_scoped_binding_applies_only_inside_its_scope():
    principal = make_principal()
    RoleBinding.objects.create(principal=principal, role=make_role(["iam/principals:write"]),
                               scope="iam/principals/42")
    assert engine.decide(principal, "iam/principals:write", resource="iam/principals/42").allowed
    assert engine.decide(principal, "iam/principals:write", resource="iam/principals/42/x").allowed
    assert not engine.decide(principal, "iam/principals:write", resource="iam/principals/43").allowed
    assert not engine.decide(principal, "iam/principals:write").allowed  # type level: not granted


def test_ip_range_condition():
    principal = make_principal()
    RoleBinding.objects.create(principal=principal, role=make_role(["iam/roles:read"]),
                               conditions={"ipRanges": ["10.0.0.0/8", "2001:db8::/32"]})
    assert engine.decide(principal, "iam/roles:read", context={"ip": "10.1.2.3"}).allowed
    assert engine.decide(principal, "iam/roles:read", context={"ip": "2001:db8::1"}).allowed
    refused = engine.decide(principal, "iam/roles:read", context={"ip": "192.0.2.1"})
    assert not refused.allowed and "IP" in refused.reason
    assert not engine.decide(principal, "iam/roles:read").allowed  # no IP known: not met


def test_time_window_condition_across_midnight_and_days():
    principal = make_principal()
    RoleBinding.objects.create(principal=principal, role=make_role(["iam/roles:read"]), conditions={
        "timeWindow": {"start": "22:00", "end": "06:00", "days": ["mon", "tue"], "timezone": "UTC"}})
    monday_late = datetime(2026, 11, 23, 23, 30, tzinfo=dt_timezone.utc)
    tuesday_early = datetime(2026, 11, 24, 5, 59, tzinfo=dt_timezone.utc)
    tuesday_noon = datetime(2026, 11, 24, 12, 0, tzinfo=dt_timezone.utc)
    sunday_late = datetime(2026, 11, 22, 23, 0, tzinfo=dt_timezone.utc)
    assert engine.decide(principal, "iam/roles:read", context={"time": monday_late}).allowed
    assert engine.decide(principal, "iam/roles:read", context={"time": tuesday_early}).allowed
    assert not engine.decide(principal, "iam/roles:read", context={"time": tuesday_noon}).allowed
    assert not engine.decide(principal, "iam/roles:read", context={"time": sunday_late}).allowed


def test_token_scopes_cap_the_decision():
    principal = make_principal(permissions=["iam/*:*"])
    assert engine.decide(principal, "iam/roles:read", scopes=["iam/roles:read"]).allowed
    assert not engine.decide(principal, "iam/roles:write", scopes=["iam/roles:read", "openid"]).allowed
    assert not engine.decide(principal, "audit/events:read", scopes=["*:*"]).allowed  # scope is no grant


def test_cache_is_invalidated_by_binding_role_and_suspension_changes():
    principal = make_principal()
    role = make_role(["iam/roles:read"])
    assert not engine.decide(principal, "iam/roles:read").allowed
    binding = RoleBinding.objects.create(principal=principal, role=role)
    assert engine.decide(principal, "iam/roles:read").allowed
    role.acl_entries = [{"resource": "iam/clients", "permission": "read"}]
    role.save()
    assert not engine.decide(principal, "iam/roles:read").allowed
    assert engine.decide(principal, "iam/clients:read").allowed
    binding.delete()
    assert not engine.decide(principal, "iam/clients:read").allowed


def test_warm_decision_costs_no_query(django_assert_num_queries):
    principal = make_principal(permissions=["iam/roles:read"])
    with django_assert_num_queries(1):
        assert engine.decide(principal, "iam/roles:read").allowed
    with django_assert_num_queries(0):
        for _ in range(10):
            assert engine.decide(principal, "iam/roles:read").allowed
            assert not engine.decide(principal, "iam/roles:write").allowed


@pytest.mark.parametrize("extra_roles", [0, 30])
def test_api_read_costs_a_fixed_number_of_queries(extra_roles, django_assert_num_queries):
    principal = make_principal(permissions=["iam/roles:read"])
    for index in range(extra_roles):
        RoleBinding.objects.create(principal=principal, role=make_role([f"svc{index}/things:read"]))
    api = api_client_for(principal)
    assert api.get("/resources/iam/roles/system:owner").status_code == 200  # warm the cache
    # session + principal + the role itself: the same whether 1 or 31 bindings are held
    with django_assert_num_queries(3):
        response = api.get("/resources/iam/roles/system:owner")
    assert response.status_code == 200


def test_owner_role_is_seeded_with_everything():
    assert Role.objects.get(key="system:owner").acl_entries == [{"resource": "*", "permission": "*"}]


def test_guardian_object_permission_delegates_one_client():
    from guardian.shortcuts import assign_perm
    from oauth2_provider.models import get_application_model

    Client = get_application_model()
    mine = Client.objects.create(name="mine", client_type="confidential", grant_types=["client_credentials"])
    other = Client.objects.create(name="other", client_type="confidential", grant_types=["client_credentials"])
    principal = make_principal()
    assign_perm("clients.change_client", principal, mine)
    decision = engine.decide(principal, "iam/clients:write", resource=f"iam/clients/{mine.pk}")
    assert decision.allowed and "delegated" in decision.reason
    assert not engine.decide(principal, "iam/clients:write", resource=f"iam/clients/{other.pk}").allowed
    assert not engine.decide(principal, "iam/clients:delete", resource=f"iam/clients/{mine.pk}").allowed
    assert not engine.decide(principal, "iam/clients:write").allowed
