"""Two approvers approving the same request at the same moment create one grant (PostgreSQL)."""

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections

from iam_project.errors import Conflict
from jit import services
from jit.models import AccessRequest, Eligibility
from roles.models import RoleBinding
from tests.conftest import make_principal, make_role

pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True), pytest.mark.postgres]


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("row locks and concurrent approvers are exercised on PostgreSQL")


def test_two_concurrent_approvals_make_one_grant():
    role = make_role(["prod/db:write"], key="ops:db-admin")
    requester = make_principal(email="dev@example.com")
    approvers = [make_principal(email=f"lead{i}@example.com", permissions=["jit/requests:approve"],
                                roles=["ops:db-admin"]) for i in range(2)]
    services.save_eligibility(None, Eligibility(principal=requester, role=role, max_duration=timedelta(hours=1),
                                                justification_required=False))
    request = services.request_access(requester, role, timedelta(minutes=10))
    start = threading.Barrier(2, timeout=10)
    outcomes = []

    def approve(approver):
        try:
            start.wait()
            services.approve(approver, request.pk)
            outcomes.append("approved")
        except Conflict:
            outcomes.append("conflict")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=approve, args=(a,)) for a in approvers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert sorted(outcomes) == ["approved", "conflict"]
    assert RoleBinding.objects.filter(source="jit", principal=requester).count() == 1
    request = AccessRequest.objects.get(pk=request.pk)
    assert request.status == "active" and request.approvals.count() == 1


def test_two_concurrent_requests_for_the_same_role_make_one():
    role = make_role(["prod/db:write"], key="ops:db-admin")
    requester = make_principal(email="dev@example.com")
    services.save_eligibility(None, Eligibility(principal=requester, role=role, max_duration=timedelta(hours=1),
                                                approval_required=False, justification_required=False))
    start = threading.Barrier(2, timeout=10)
    outcomes = []

    def ask():
        try:
            start.wait()
            services.request_access(requester, role, timedelta(minutes=10))
            outcomes.append("created")
        except Conflict:
            outcomes.append("conflict")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=ask) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert sorted(outcomes) == ["conflict", "created"]
    assert RoleBinding.objects.filter(source="jit", principal=requester).count() == 1
