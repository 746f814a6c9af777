"""Offboarding works: deleting identities that hold roles, and roles that something still uses, is never
a server error (a 204, or a 409 naming what is in the way)."""

from datetime import timedelta

import pytest
from django.test import Client as HttpClient

from audit.models import AuditEvent
from clients import services as client_services
from ibmcloud import services as ibm_services
from jit import services as jit_services
from jit.models import Eligibility
from roles import services as role_services
from roles.models import RoleBinding
from tests.conftest import api_client_for, make_principal, make_role

pytestmark = pytest.mark.django_db


def test_deleting_a_principal_with_roles_grants_keys_and_eligibilities(owner):
    role = make_role(["x:read"], key="team:x")
    victim = make_principal(roles=[role.key])
    jit_services.save_eligibility(None, Eligibility(principal=victim, role=make_role(["y:read"], key="team:y"),
                                                    max_duration=timedelta(hours=1), approval_required=False,
                                                    justification_required=False))
    jit_services.request_access(victim, role_services.resolve_roles(["team:y"])[0], timedelta(minutes=5))
    client_services.create_api_key(None, victim, "k")
    response = api_client_for(owner).delete(f"/resources/iam/principals/{victim.pk}")
    assert response.status_code == 204, response.content
    assert not RoleBinding.objects.filter(principal_id=victim.pk).exists()
    removed = AuditEvent.objects.filter(action="delete", target_type="roleBinding").values_list("target_repr", flat=True)
    assert any(victim.iam_id in label for label in removed)  # named by iam_id: the holder row is gone


def test_deleting_a_client_with_roles(owner):
    role = make_role(["x:read"], key="team:x")
    client = client_services.create_client(None, {"name": "a", "grantTypes": ["client_credentials"]},
                                           roles=[role.key])
    client_services.create_secret(None, client.pk)
    assert api_client_for(owner).delete(f"/resources/iam/clients/{client.pk}").status_code == 204


def test_deleting_a_principal_with_roles_in_the_console(owner):
    victim = make_principal(roles=[make_role(["x:read"]).key])
    browser = HttpClient()
    browser.force_login(owner)
    response = browser.post(f"/admin/principals/principal/{victim.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not type(victim).objects.filter(pk=victim.pk).exists()


@pytest.mark.parametrize("use", ["eligibility", "held_role", "approver_role", "policy", "access_request"])
def test_deleting_a_role_still_in_use_is_a_conflict(owner, use):
    role = make_role(["x:read"], key="team:x")
    other = make_role(["y:read"], key="team:y")
    someone = make_principal()
    hour = timedelta(hours=1)
    if use == "eligibility":
        jit_services.save_eligibility(None, Eligibility(principal=someone, role=role, max_duration=hour))
    elif use == "held_role":
        jit_services.save_eligibility(None, Eligibility(held_role=role, role=other, max_duration=hour))
    elif use == "approver_role":
        jit_services.save_eligibility(None, Eligibility(principal=someone, role=other, approver_role=role,
                                                        max_duration=hour))
    elif use == "policy":
        policy = ibm_services.create_policy(None, someone, role, "", [], [])
        ibm_services.set_policy_state(None, policy.pk, None, "deleted")  # no binding left
    else:
        eligibility = jit_services.save_eligibility(None, Eligibility(
            principal=someone, role=role, max_duration=hour, approval_required=True, justification_required=False))
        request = jit_services.request_access(someone, role, timedelta(minutes=5))
        jit_services.cancel(someone, request.pk)
        eligibility.delete()
    response = api_client_for(owner).delete(f"/resources/iam/roles/{role.key}")
    assert response.status_code == 409, response.content
    assert "still used by" in response.json()["detail"]
    assert type(role).objects.filter(pk=role.pk).exists()
