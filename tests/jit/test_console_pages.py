"""The console's access request page (Approve / Deny / Revoke with a comment) and the approver's inbox:
the API's rules through jit.services, refusals as messages, never a 500."""

from datetime import timedelta

import pytest
from django.test import Client as HttpClient

from audit.models import AuditEvent
from jit import services
from jit.models import AccessRequest
from tests.conftest import make_principal

pytestmark = pytest.mark.django_db


def console(principal):
    client = HttpClient()
    client.force_login(principal)
    return client


@pytest.fixture
def console_approver(db_admin_role):
    return make_principal(email="boss@example.com", roles=["system:portal:full", db_admin_role.key],
                          permissions=["jit/requests:approve", "jit/requests:read"])


@pytest.fixture
def pending(requester, db_admin_role, make_eligibility):
    make_eligibility()
    return services.request_access(requester, db_admin_role, timedelta(minutes=30), justification="incident 7")


def test_an_approver_sees_it_in_the_inbox_and_approves_with_a_comment(console_approver, pending):
    http = console(console_approver)
    inbox = http.get("/admin/jit/inbox/").content.decode()
    assert f"/admin/jit/requests/{pending.pk}/" in inbox and "dev@example.com" in inbox
    assert http.get(f"/admin/jit/accessrequest/{pending.pk}/change/")["Location"] == f"/admin/jit/requests/{pending.pk}/"
    page = http.get(f"/admin/jit/requests/{pending.pk}/").content.decode()
    assert 'value="approve"' in page and 'value="deny"' in page and "incident 7" in page
    done = http.post(f"/admin/jit/requests/{pending.pk}/", {"decision": "approve", "comment": "ok for 7"}, follow=True)
    body = done.content.decode()
    assert "was approved" in body and "ok for 7" in body and 'class="countdown"' in body
    pending.refresh_from_db()
    assert pending.status == "active" and pending.approvals.get().comment == "ok for 7"
    assert AuditEvent.objects.filter(action="jit.approved").count() == 1
    assert 'value="revoke"' in body
    http.post(f"/admin/jit/requests/{pending.pk}/", {"decision": "revoke", "comment": "done"})
    pending.refresh_from_db()
    assert pending.status == "revoked"


def test_the_requester_cannot_approve_its_own_request(requester, pending):
    from roles.models import Role, RoleBinding

    RoleBinding.objects.create(principal=requester, role=Role.objects.get(key="system:portal:full"))
    http = console(requester)
    page = http.get(f"/admin/jit/requests/{pending.pk}/").content.decode()
    assert 'value="approve"' not in page
    refused = http.post(f"/admin/jit/requests/{pending.pk}/", {"decision": "approve"}, follow=True)
    assert refused.status_code == 200 and "your own request" in refused.content.decode()
    pending.refresh_from_db()
    assert pending.status == "pending"


def test_a_narrow_approver_without_the_role_is_refused_and_sees_an_empty_inbox(pending):
    narrow = console(make_principal(roles=["system:portal:full"], permissions=["jit/requests:approve"]))
    assert "Nothing awaits" in narrow.get("/admin/jit/inbox/").content.decode()
    refused = narrow.post(f"/admin/jit/requests/{pending.pk}/", {"decision": "approve"}, follow=True)
    assert "Only someone holding" in refused.content.decode()
    pending.refresh_from_db()
    assert pending.status == "pending" and not pending.approvals.exists()


def test_without_the_permissions_the_pages_are_refused(pending):
    plain = console(make_principal(roles=["system:portal:full"]))
    assert plain.get("/admin/jit/inbox/").status_code == 403
    assert plain.get(f"/admin/jit/requests/{pending.pk}/").status_code == 403
    assert plain.post(f"/admin/jit/requests/{pending.pk}/", {"decision": "approve"}).status_code == 403
    assert AccessRequest.objects.get().status == "pending"


def test_bad_input_is_a_message_not_a_500(console_approver, pending):
    http = console(console_approver)
    assert "decision: must be" in http.post(f"/admin/jit/requests/{pending.pk}/", {"decision": "x"},
                                             follow=True).content.decode().lower()
    assert "at most 2000" in http.post(f"/admin/jit/requests/{pending.pk}/",
                                       {"decision": "deny", "comment": "x" * 2001}, follow=True).content.decode()
    assert AccessRequest.objects.get().status == "pending"
    assert http.get("/admin/jit/requests/00000000-0000-0000-0000-000000000000/").status_code == 404
    http.post(f"/admin/jit/requests/{pending.pk}/", {"decision": "deny", "comment": "no"})
    pending.refresh_from_db()
    assert pending.status == "denied"
    again = http.post(f"/admin/jit/requests/{pending.pk}/", {"decision": "approve"}, follow=True)
    assert again.status_code == 200 and "already denied" in again.content.decode()
