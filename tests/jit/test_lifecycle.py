"""The lifecycle of a just-in-time grant, with a frozen and moved clock: exact to the second."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from audit.models import AuditEvent
from jit import services
from jit.choices import RequestStatusChoices as Status
from roles import engine
from roles.models import RoleBinding

pytestmark = pytest.mark.django_db


def allowed(identity, permission="prod/db:write"):
    return engine.decide(identity, permission).allowed


def test_approved_grant_is_honoured_until_the_second_it_expires_then_swept(
        requester, approver, db_admin_role, make_eligibility, mailoutbox):
    make_eligibility()
    start = timezone.now().replace(microsecond=0)
    with time_machine.travel(start, tick=False) as clock:
        request = services.request_access(requester, db_admin_role, timedelta(minutes=15), "incident 42")
        assert request.status == Status.PENDING and not allowed(requester)
        assert [m.to for m in mailoutbox] == [["lead@example.com"]]  # approvers are told
        services.approve(approver, request.pk, comment="go")
        request.refresh_from_db()
        assert request.status == Status.ACTIVE and request.expires_at == start + timedelta(minutes=15)
        binding = RoleBinding.objects.get(pk=request.binding_id)
        assert binding.source == "jit" and binding.expires_at == request.expires_at
        assert allowed(requester)
        assert mailoutbox[-1].to == ["dev@example.com"] and "active until" in mailoutbox[-1].body

        clock.move_to(request.expires_at - timedelta(seconds=1))
        assert allowed(requester)  # one second before: still in force
        clock.move_to(request.expires_at)
        assert not allowed(requester)  # at the second itself: over, with no sweep run
        assert RoleBinding.objects.filter(pk=binding.pk).exists()  # the row is still there

        assert services.sweep() == (1, 0)
        request.refresh_from_db()
        assert request.status == Status.EXPIRED and request.binding_id is None
        assert not RoleBinding.objects.filter(pk=binding.pk).exists()
        assert mailoutbox[-1].to == ["dev@example.com"] and "has ended" in mailoutbox[-1].body
        assert services.sweep() == (0, 0)  # idempotent


def test_eligibility_without_approval_activates_at_once(requester, db_admin_role, make_eligibility):
    make_eligibility(approval_required=False, justification_required=False)
    request = services.request_access(requester, db_admin_role, timedelta(minutes=5))
    assert request.status == Status.ACTIVE and allowed(requester)
    actions = list(AuditEvent.objects.filter(target_type="jitRequest").order_by("seq").values_list("action", flat=True))
    assert actions == ["jit.requested", "jit.activated"]


def test_every_step_is_an_audit_event_with_the_details(requester, approver, db_admin_role, make_eligibility):
    make_eligibility()
    request = services.request_access(requester, db_admin_role, timedelta(minutes=30), "deploy fix")
    services.approve(approver, request.pk, comment="ok")
    services.revoke(approver, request.pk, comment="done early")
    events = list(AuditEvent.objects.filter(target_type="jitRequest", target_id=str(request.pk)).order_by("seq"))
    assert [e.action for e in events] == ["jit.requested", "jit.approved", "jit.activated", "jit.revoked"]
    approved = events[1].details
    assert approved["requester"] == requester.iam_id and approved["approver"] == approver.iam_id
    assert approved["role"] == "ops:db-admin" and approved["duration"] == "PT30M"
    assert approved["justification"] == "deploy fix" and approved["comment"] == "ok"
    assert not allowed(requester)


def test_deny_and_cancel(requester, approver, db_admin_role, make_eligibility, mailoutbox):
    make_eligibility()
    first = services.request_access(requester, db_admin_role, timedelta(minutes=5), "a")
    services.deny(approver, first.pk, comment="not now")
    first.refresh_from_db()
    assert first.status == Status.DENIED and first.decision_comment == "not now"
    assert mailoutbox[-1].to == ["dev@example.com"] and "denied" in mailoutbox[-1].subject
    second = services.request_access(requester, db_admin_role, timedelta(minutes=5), "b")
    services.cancel(requester, second.pk)
    second.refresh_from_db()
    assert second.status == Status.CANCELLED
    assert not RoleBinding.objects.filter(source="jit").exists()


def test_two_approvals_needed_from_two_people(requester, approver, db_admin_role, make_eligibility):
    from tests.conftest import make_principal

    second = make_principal(email="lead2@example.com", permissions=["jit/requests:approve"],
                            roles=[db_admin_role.key])
    make_eligibility(approvals_required=2)
    request = services.request_access(requester, db_admin_role, timedelta(minutes=5), "two-person rule")
    services.approve(approver, request.pk)
    request.refresh_from_db()
    assert request.status == Status.PENDING and not allowed(requester)
    from iam_project.errors import Conflict

    with pytest.raises(Conflict):
        services.approve(approver, request.pk)  # the same person twice does not count twice
    services.approve(second, request.pk)
    request.refresh_from_db()
    assert request.status == Status.ACTIVE and request.approvals.count() == 2 and allowed(requester)


def test_reminder_shortly_before_expiry(requester, db_admin_role, make_eligibility, mailoutbox):
    make_eligibility(approval_required=False, justification_required=False)
    request = services.request_access(requester, db_admin_role, timedelta(minutes=30))
    with time_machine.travel(request.expires_at - timedelta(minutes=4), tick=False):
        assert services.sweep() == (0, 1)
        assert services.sweep() == (0, 0)  # once
    assert "ends soon" in mailoutbox[-1].subject


def test_expire_task_is_a_no_op_before_the_time_and_after_the_end(requester, db_admin_role, make_eligibility):
    from jit.tasks import expire_grant

    make_eligibility(approval_required=False, justification_required=False)
    request = services.request_access(requester, db_admin_role, timedelta(minutes=10))
    expire_grant.delay(str(request.pk))
    request.refresh_from_db()
    assert request.status == Status.ACTIVE and allowed(requester)
    with time_machine.travel(request.expires_at, tick=False):
        expire_grant.delay(str(request.pk))
        expire_grant.delay(str(request.pk))
    request.refresh_from_db()
    assert request.status == Status.EXPIRED
    assert AuditEvent.objects.filter(action="jit.expired", target_id=str(request.pk)).count() == 1


def test_tokens_issued_during_a_grant_expire_no_later_than_the_grant(requester, db_admin_role, make_eligibility):
    make_eligibility(approval_required=False, justification_required=False)
    assert services.token_lifetime_cap(requester, 900) == 900
    request = services.request_access(requester, db_admin_role, timedelta(minutes=5))
    with time_machine.travel(request.expires_at - timedelta(seconds=100), tick=False):
        assert services.token_lifetime_cap(requester, 900) == 100
    with time_machine.travel(request.expires_at + timedelta(seconds=1), tick=False):
        assert services.token_lifetime_cap(requester, 900) == 900
