"""One binding lifecycle: however a binding is removed, the object that owns it (an access policy, a
just-in-time access request) ends with it and never stays "active" over nothing."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client as HttpClient

from audit.models import AuditEvent
from ibmcloud import services as ibm_services
from jit import services as jit_services
from jit.models import AccessRequest, Eligibility
from roles.models import RoleBinding
from tests.conftest import make_principal, make_role

pytestmark = pytest.mark.django_db


@pytest.fixture
def role(db):
    return make_role(["prod/db:read"], key="ops:reader")


def console(principal):
    browser = HttpClient()
    browser.force_login(principal)
    return browser


def delete_in_console(browser, binding):
    return browser.post(f"/admin/roles/rolebinding/{binding.pk}/delete/", {"post": "yes"})


def active_grant(role, approver=None):
    requester = make_principal()
    jit_services.save_eligibility(None, Eligibility(principal=requester, role=role, max_duration=timedelta(hours=1),
                                                    approval_required=approver is not None,
                                                    justification_required=False))
    request = jit_services.request_access(requester, role, timedelta(minutes=30))
    if approver is not None:
        jit_services.approve(approver, request.pk)
        request.refresh_from_db()
    return request


def test_deleting_a_policys_binding_in_the_console_deletes_the_policys_grant(owner, role):
    subject = make_principal()
    policy = ibm_services.create_policy(owner, subject, role, "", [], [])
    assert delete_in_console(console(owner), policy.binding).status_code == 302
    policy.refresh_from_db()
    assert policy.state == "deleted" and policy.binding is None
    assert not RoleBinding.objects.filter(principal=subject).exists()


def test_removing_a_policys_binding_with_bindrole_deletes_the_policys_grant(owner, role):
    subject = make_principal()
    policy = ibm_services.create_policy(None, subject, role, "", [], [])
    call_command("bindrole", subject.iam_id, role.key, "--remove", stdout=StringIO())
    policy.refresh_from_db()
    assert policy.state == "deleted"


def test_deleting_a_jit_binding_in_the_console_revokes_its_request(owner, role):
    request = active_grant(role)
    assert delete_in_console(console(owner), request.binding).status_code == 302
    request.refresh_from_db()
    assert request.status == "revoked" and request.binding is None and request.ended_by == owner.iam_id
    assert AuditEvent.objects.filter(action="jit.revoked", target_id=str(request.pk)).exists()


def test_a_binding_admin_who_may_not_revoke_the_grant_cannot_delete_its_binding(role):
    request = active_grant(role)
    # May delete bindings and holds the role, but is no approver of grants: the request decides.
    admin_of_bindings = make_principal(permissions=["portal:*", "portal/*:*", "iam/bindings:*"], roles=[role.key])
    response = delete_in_console(console(admin_of_bindings), request.binding)
    assert response.status_code == 302  # back to the page with the refusal as a message
    request.refresh_from_db()
    assert request.status == "active" and RoleBinding.objects.filter(pk=request.binding_id).exists()


def test_deleting_a_principal_deletes_its_policies_grants(owner, role):
    subject = make_principal()
    policy = ibm_services.create_policy(None, subject, role, "", [], [])
    assert console(owner).post(f"/admin/principals/principal/{subject.pk}/delete/", {"post": "yes"}).status_code == 302
    policy.refresh_from_db()
    assert policy.state == "deleted" and policy.binding is None


def test_a_jit_binding_names_its_approver_as_its_maker(role):
    approver = make_principal(permissions=["jit/requests:approve"], roles=[role.key])
    request = active_grant(role, approver=approver)
    binding = RoleBinding.objects.get(pk=request.binding_id)
    assert binding.source == "jit" and binding.created_by == approver.iam_id
    assert AccessRequest.objects.get(pk=request.pk).status == "active"
