"""Every console URL, as an owner and as a read-only user: no page answers 500, and the read-only user's
posts change nothing."""

from datetime import timedelta

import pytest
from django.contrib import admin
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from clients import services as client_services
from jit.models import AccessRequest
from tests.conftest import make_principal, make_role
from tests.factories import BindingFactory, ClientFactory, EligibilityFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    """One object of each kind the console shows (where a test can make one through the services)."""
    subject = make_principal(email="subject@example.com", permissions=["orders/items:read"])
    app = ClientFactory()
    client_services.create_secret(None, app.pk)
    BindingFactory(principal=subject, expires_at=timezone.now() + timedelta(hours=2))
    eligibility = EligibilityFactory(principal=subject)
    AccessRequest.objects.create(principal=subject, requester_iam_id=subject.iam_id, role=eligibility.role,
                                 eligibility=eligibility, duration=timedelta(hours=1), status="pending")
    Client().post("/admin/login/", {"username": "subject@example.com", "password": "wrong"})
    call_command("audit_verify", "--no-progress")
    return {"subject": subject, "client": app}


def console_urls(world):
    urls = ["/admin/", "/admin/password_change/", "/admin/access/check/", "/admin/access/holders/",
            f"/admin/access/principals/{world['subject'].pk}/", f"/admin/access/clients/{world['client'].pk}/",
            f"/admin/sessions/principals/{world['subject'].pk}/", f"/admin/history/principals/{world['subject'].pk}/",
            "/admin/audit/auditevent/export/csv/", "/admin/audit/auditevent/export/ndjson/?family=login",
            "/admin/audit/auditevent/?identity=subject&since=2020-01-01&until=2099-12-31 23:59&target=x&family=login",
            "/admin/audit/auditevent/?since=garbage"]
    for model in admin.site._registry:
        info = (model._meta.app_label, model._meta.model_name)
        urls += [reverse("admin:app_list", args=[info[0]]), reverse(f"admin:{info[0]}_{info[1]}_changelist"),
                 reverse(f"admin:{info[0]}_{info[1]}_add")]
        one = model._default_manager.first()
        if one is not None:
            urls += [reverse(f"admin:{info[0]}_{info[1]}_change", args=[one.pk]),
                     reverse(f"admin:{info[0]}_{info[1]}_history", args=[one.pk])]
    return sorted(set(urls))




def snapshot():
    """Every row of every console model except the audit trail (which records the refusals)."""
    rows = {}
    for model in admin.site._registry:
        if model._meta.app_label != "audit":
            rows[model._meta.label] = sorted(map(repr, model._default_manager.values()))
    return rows


def crawl(client, urls):
    bad = []
    for url in urls:
        status = client.get(url).status_code
        if status >= 500 or status not in (200, 302, 403, 404):
            bad.append((url, status))
    return bad


def test_owner_crawl_never_500(world):
    client = Client()
    client.force_login(make_principal(roles=["system:owner"]))
    urls = console_urls(world)
    assert len(urls) > 40 and any("/history/" in url for url in urls)
    assert crawl(client, urls) == []
    assert client.get("/admin/").status_code == 200


def test_read_only_crawl_never_500_and_changes_nothing(world):
    reader = make_principal(roles=["system:portal:full", "system:auditor"])
    client = Client()
    client.force_login(reader)
    urls = console_urls(world)
    assert crawl(client, urls) == []
    before = snapshot()
    posted = []
    for url in urls:
        if url.endswith(("/change/", "/add/", "/delete/")) or "/password_change/" in url:
            response = client.post(url, {"email": "changed@example.com", "name": "changed", "key": "x:changed",
                                         "_save": "Save"})
            posted.append(response.status_code)
            assert response.status_code < 500, (url, response.status_code)
    delete_url = reverse("admin:principals_principal_delete", args=[world['subject'].pk])
    assert client.post(delete_url, {"post": "yes"}).status_code == 403
    assert posted and snapshot() == before
