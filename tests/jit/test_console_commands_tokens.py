"""JIT in the console, through the commands, and in what tokens can do."""

import base64
from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.test import Client as HttpClient

from clients import services as client_services
from jit import services
from jit.models import AccessRequest, Eligibility
from tests.conftest import make_principal

pytestmark = pytest.mark.django_db
PASSWORD = "Console-passphrase-42"


def run(*args, **kwargs):
    out = StringIO()
    call_command(*args, stdout=out, **kwargs)
    return out.getvalue()


def test_commands_request_approve_revoke_and_sweep(requester, approver, make_eligibility):
    make_eligibility()
    out = run("jit_request", "ops:db-admin", "--duration", "PT20M", "--justification", "db migration",
              "--actor", requester.email)
    request = AccessRequest.objects.get()
    assert "pending" in out and request.justification == "db migration"
    with pytest.raises(CommandError, match="own request"):
        run("jit_approve", str(request.pk), "--actor", requester.email)
    assert "active" in run("jit_approve", str(request.pk), "--actor", approver.email)
    assert "revoked" in run("jit_revoke", str(request.pk), "--actor", approver.email)
    with pytest.raises(CommandError):
        run("jit_request", "ops:db-admin", "--duration", "twenty minutes", "--actor", requester.email)
    with pytest.raises(CommandError):
        run("jit_approve", "not-a-uuid")
    assert "0 grant(s) expired" in run("jit_expire")


def test_jit_expire_runs_the_sweep(requester, make_eligibility):
    make_eligibility(approval_required=False, justification_required=False)
    request = services.request_access(requester, make_eligibility().role, timedelta(minutes=1))
    with time_machine.travel(request.expires_at + timedelta(seconds=1), tick=False):
        assert "1 grant(s) expired" in run("jit_expire")
    request.refresh_from_db()
    assert request.status == "expired"


def test_console_pending_approve_active_time_left_and_revoke(requester, approver, make_eligibility):
    from roles.services import bind_role
    from tests.conftest import make_role

    bind_role(None, approver, make_role(["portal:access"]))
    approver.set_password(PASSWORD)
    approver.save()
    make_eligibility()
    request = services.request_access(requester, make_eligibility().role, timedelta(minutes=30), "console")
    http = HttpClient()
    http.post("/admin/login/", {"username": approver.email, "password": PASSWORD, "next": "/admin/"})
    page = http.get("/admin/jit/accessrequest/?status__exact=pending")
    assert page.status_code == 200 and requester.iam_id.encode() in page.content
    http.post("/admin/jit/accessrequest/", {"action": "approve_selected", "_selected_action": [request.pk]})
    request.refresh_from_db()
    assert request.status == "active"
    page = http.get("/admin/jit/accessrequest/?status__exact=active")
    assert b"29 min" in page.content or b"30 min" in page.content  # time left, as a person writes it
    http.post("/admin/jit/accessrequest/", {"action": "revoke_selected", "_selected_action": [request.pk]})
    request.refresh_from_db()
    assert request.status == "revoked"


def test_console_refuses_self_approval_with_a_message(requester, approver, make_eligibility):
    from roles.services import bind_role
    from tests.conftest import make_role

    bind_role(None, requester, make_role(["portal:access", "jit/requests:read", "jit/requests:approve"]))
    requester.set_password(PASSWORD)
    requester.save()
    make_eligibility()
    request = services.request_access(requester, make_eligibility().role, timedelta(minutes=30), "mine")
    http = HttpClient()
    http.post("/admin/login/", {"username": requester.email, "password": PASSWORD, "next": "/admin/"})
    response = http.post("/admin/jit/accessrequest/", {"action": "approve_selected",
                                                       "_selected_action": [request.pk]}, follow=True)
    assert b"own request" in response.content
    request.refresh_from_db()
    assert request.status == "pending"


def test_token_lifetime_and_introspection_follow_the_grant(db_admin_role):
    client = client_services.create_client(None, {"name": "Job", "grantTypes": ["client_credentials"],
                                                  "scopes": ["prod/db:write"]},
                                           roles=["system:resource-server"])  # introspection needs it
    _, secret = client_services.create_secret(None, client.pk)
    services.save_eligibility(None, Eligibility(
        client=client, role=db_admin_role, max_duration=timedelta(hours=1), approval_required=False,
        justification_required=False))
    request = services.request_access(client, db_admin_role, timedelta(minutes=5))
    auth = "Basic " + base64.b64encode(f"{client.client_id}:{secret}".encode()).decode()
    token = HttpClient().post("/oauth/token/", {"grant_type": "client_credentials", "scope": "prod/db:write"},
                              HTTP_AUTHORIZATION=auth).json()
    assert 290 <= token["expires_in"] <= 300  # no longer than the grant (5 minutes), not the usual 15

    def introspect():
        return HttpClient().post("/oauth/introspect/", {"token": token["access_token"]},
                                 HTTP_AUTHORIZATION=auth).json()

    assert "prod/db:write" in introspect()["permissions"]
    with time_machine.travel(request.expires_at - timedelta(seconds=1), tick=False):
        assert "prod/db:write" in introspect()["permissions"]
    services.revoke(None, request.pk)  # the grant ends early: the older token loses it at once
    info = introspect()
    assert info["active"] is True and "prod/db:write" not in info["permissions"]
