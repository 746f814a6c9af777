"""The dashboard: each panel for viewers who may read it, figures from the data and the audit trail."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from audit.models import ChainVerification
from jit.models import AccessRequest
from roles.models import RoleBinding
from tests.conftest import make_principal, make_role
from tests.factories import ClientFactory

pytestmark = pytest.mark.django_db
QUERY_BUDGET = 20  # 14 measured; flat in the number of rows (15 grants, 15 failures here)


def console(principal):
    client = Client()
    client.force_login(principal)
    return client


def test_owner_sees_counts_chart_refusals_and_chain_status():
    owner = make_principal(roles=["system:owner"])
    ClientFactory()
    Client().post("/admin/login/", {"username": "nobody@example.com", "password": "wrong"})  # a failed sign-in
    call_command("audit_verify", "--no-progress")
    page = console(owner).get("/admin/")
    assert page.status_code == 200
    text = page.content.decode()
    assert 'id="dashboard-counts"' in text and "Principals" in text and "Active grants" in text
    assert 'id="activity-chart"' in text and "<svg" in text and 'class="bar signins"' in text
    assert "login.failed" in text  # recent failed sign-ins
    assert "Intact" in text and ChainVerification.objects.get().ok


def test_a_broken_chain_is_shown_as_broken():
    owner = make_principal(roles=["system:owner"])
    ChainVerification.objects.create(at=timezone.now(), ok=False, events=3, first_break="lane 0 position 2: hash")
    assert "Broken" in console(owner).get("/admin/").content.decode()


def test_panels_follow_the_viewers_read_permissions():
    viewer = make_principal(roles=["system:portal:full"], permissions=["iam/principals:read"])
    text = console(viewer).get("/admin/").content.decode()
    assert "Principals" in text
    for hidden in ('id="activity-chart"', 'id="recent-refusals"', 'id="chain-status"', "Active grants",
                   'id="pending-approvals"', "Check access"):
        assert hidden not in text, hidden


def test_pending_approvals_and_grants_ending_soon():
    role = make_role(["orders/items:delete"], key="shop:jit")
    approver = make_principal(roles=["system:owner"])
    requester = make_principal(email="req@example.com")
    AccessRequest.objects.create(principal=requester, requester_iam_id=requester.iam_id, role=role,
                                 duration=timedelta(minutes=90), status="pending")
    other = make_principal(email="active@example.com")
    AccessRequest.objects.create(principal=other, requester_iam_id=other.iam_id, role=role,
                                 duration=timedelta(hours=1), status="active",
                                 expires_at=timezone.now() + timedelta(minutes=42, seconds=30))
    RoleBinding.objects.create(principal=other, role=make_role(["x/y:read"], key="shop:temp"),
                               expires_at=timezone.now() + timedelta(hours=3, minutes=5))
    text = console(approver).get("/admin/").content.decode()
    pending = text.split('id="pending-approvals"')[1].split("</table>")[0]
    assert "shop:jit" in pending and "req@example.com" in pending and "1 h 30 min" in pending
    assert f'title="{requester.iam_id}"' in pending  # the iam id in the tooltip
    ending = text.split('id="expiring-grants"')[1].split("</table>")[0]
    assert "active@example.com" in ending and "in 42 min" in ending and "shop:temp" in ending and "in 3 h" in ending


def test_dashboard_query_budget(django_assert_max_num_queries):
    owner = make_principal(roles=["system:owner"])
    role = make_role(["orders/items:delete"], key="shop:jit")
    for n in range(15):
        p = make_principal()
        AccessRequest.objects.create(principal=p, requester_iam_id=p.iam_id, role=role, duration=timedelta(hours=1),
                                     status="active", expires_at=timezone.now() + timedelta(hours=1))
    for _ in range(15):
        Client().post("/admin/login/", {"username": "nobody@example.com", "password": "wrong"})
    client = console(owner)
    client.get("/admin/")  # warm the engine's caches as a real session would be
    with django_assert_max_num_queries(QUERY_BUDGET):
        assert client.get("/admin/").status_code == 200
