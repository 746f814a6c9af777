"""Every console screen, form and bulk action asks the engine for the permission of the API operation
it mirrors: a read-only principal walks all of them and changes nothing."""

from datetime import timedelta

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.test import Client as HttpClient
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from clients import services as client_services
from clients.models import ClientSecret
from ibmcloud import services as ibm_services
from ibmcloud.models import ClaimRule, TrustedProfile
from jit import services as jit_services
from jit.models import Eligibility
from roles.models import RoleBinding
from tests.conftest import make_principal, make_role

pytestmark = pytest.mark.django_db

READ_ONLY = ["*:read", "portal:*", "portal/*:*"]
# What a read-only user may do without writing: sign in, be refused.
HARMLESS = {"access.denied", "login.succeeded", "login.failed", "session.login", "session.logout"}


@pytest.fixture
def one_of_everything(owner):
    """At least one row behind every console screen, and objects every bulk action can act on."""
    role = make_role(["prod/db:read"], key="ops:reader")
    victim = make_principal(email="victim@example.com", roles=[role.key])
    client = client_services.create_client(None, {"name": "app", "grantTypes": ["client_credentials"],
                                                  "scopes": ["*:*"]})
    client_services.create_secret(None, client.pk)
    client_services.create_api_key(None, victim, "victim key")
    eligibility = jit_services.save_eligibility(None, Eligibility(
        principal=victim, role=role, max_duration=timedelta(hours=1), approval_required=True,
        justification_required=False))
    jit_services.request_access(victim, role, timedelta(minutes=30))
    requester = make_principal(email="requester@example.com")
    jit_services.save_eligibility(None, Eligibility(
        principal=requester, role=role, max_duration=timedelta(hours=1), approval_required=False,
        justification_required=False))
    jit_services.request_access(requester, role, timedelta(minutes=30))  # active
    profile = TrustedProfile.objects.create(name="federated")
    ClaimRule.objects.create(profile=profile, type="Profile-SAML", conditions=[])
    ibm_services.create_policy(None, victim, role, "", [], [])
    RoleBinding.objects.create(principal=victim, role=make_role(["docs:read"]), expires_at=timezone.now()
                               + timedelta(days=1))
    return eligibility


def _models_and_pks():
    for model, model_admin in admin.site._registry.items():
        yield model, model_admin, [str(pk) for pk in model._default_manager.values_list("pk", flat=True)[:20]]


def _writes_since(seq):
    return list(AuditEvent.objects.filter(seq__gt=seq).exclude(action__in=HARMLESS)
                .values_list("action", "target_type"))


def test_a_read_only_principal_is_offered_no_action_and_no_action_runs(one_of_everything):
    reader = make_principal(permissions=READ_ONLY)
    browser = HttpClient()
    browser.force_login(reader)
    secrets_before = ClientSecret.objects.count()
    start = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first()
    walked = 0
    for model, model_admin, pks in _models_and_pks():
        opts = model._meta
        changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        page = browser.get(changelist)
        if page.status_code == 403:
            continue  # not a screen this reader may see (e.g. the token tables)
        assert page.status_code == 200, (changelist, page.status_code)
        offered = page.context["action_form"].fields["action"].choices if page.context.get("action_form") else []
        assert [name for name, _ in offered if name] == [], (changelist, offered)
        # Post every action the screen knows anyway, on every row: the admin must refuse to run it.
        for name in model_admin.actions or ():
            browser.post(changelist, {"action": name, "_selected_action": pks, "index": 0})
            walked += 1
        for pk in pks[:1]:
            change = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[pk])
            assert browser.post(change, {}).status_code == 403, change
            delete = reverse(f"admin:{opts.app_label}_{opts.model_name}_delete", args=[pk])
            assert browser.post(delete, {"post": "yes"}).status_code in (403, 302), delete
        add = reverse(f"admin:{opts.app_label}_{opts.model_name}_add")
        assert browser.post(add, {}).status_code == 403, add
    assert walked >= 10  # principals, clients, API keys and access requests all have actions
    assert ClientSecret.objects.count() == secrets_before
    assert _writes_since(start or 0) == []
    assert get_user_model().objects.filter(suspended=True).count() == 0


def test_a_client_reader_cannot_mint_a_secret_through_the_bulk_action(one_of_everything):
    reader = make_principal(permissions=["iam/clients:read", "portal:*", "portal/*:*"])
    browser = HttpClient()
    browser.force_login(reader)
    before = ClientSecret.objects.count()
    pks = [str(pk) for pk in client_services._client_model().objects.values_list("pk", flat=True)]
    response = browser.post(reverse("admin:clients_client_changelist"),
                            {"action": "new_secret_selected", "_selected_action": pks, "index": 0})
    assert response.status_code in (200, 302)
    assert b"pcs_" not in response.content
    assert ClientSecret.objects.count() == before


def test_a_client_writer_is_offered_the_secret_action(one_of_everything):
    writer = make_principal(permissions=["iam/clients:read", "iam/clients:write", "portal:*", "portal/*:*"])
    browser = HttpClient()
    browser.force_login(writer)
    page = browser.get(reverse("admin:clients_client_changelist"))
    assert "new_secret_selected" in [name for name, _ in page.context["action_form"].fields["action"].choices]


def test_view_on_site_is_never_offered(owner):
    client = client_services.create_client(None, {"name": "app", "grantTypes": ["client_credentials"]})
    browser = HttpClient()
    browser.force_login(owner)
    page = browser.get(reverse("admin:clients_client_change", args=[client.pk]))
    assert page.status_code == 200 and b"View on site" not in page.content
    reader = make_principal(permissions=READ_ONLY)
    browser.force_login(reader)
    page = browser.get(reverse("admin:clients_client_change", args=[client.pk]))
    assert page.status_code == 200 and b"View on site" not in page.content


def test_the_console_shortcut_to_a_client_is_not_a_server_error(owner):
    from django.contrib.contenttypes.models import ContentType

    client = client_services.create_client(None, {"name": "app", "grantTypes": ["client_credentials"]})
    browser = HttpClient()
    browser.force_login(owner)
    content_type = ContentType.objects.get_for_model(client)
    response = browser.get(f"/admin/r/{content_type.pk}/{client.pk}/")
    assert response.status_code == 302 and response["Location"].endswith(f"/resources/iam/clients/{client.pk}")
