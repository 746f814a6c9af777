"""The console's real forms in a real browser (Chromium through Playwright): an administrator creates a
principal with a role through the form, creates a client with the wizard and copies its secret, and
approves a just-in-time request from the request page."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from oauth2_provider.models import get_application_model

from clients import services as client_services
from jit import services as jit_services
from jit.models import AccessRequest, Eligibility
from roles.models import RoleBinding
from tests.conftest import make_principal, make_role
from tests.e2e.browser import browser_page, chromium  # noqa: F401 (fixtures)
from tests.e2e.test_browser import PASSWORD, console_sign_in, expect

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_administrator_creates_a_principal_with_a_role_through_the_form(browser_page):
    page = browser_page
    owner = make_principal(email="owner@example.com", password=PASSWORD, roles=["system:owner"])
    clerk = make_role(["orders/items:read"], key="shop:clerk", description="Shop clerks")
    console_sign_in(page, owner.email, PASSWORD)
    page.goto("/admin/principals/principal/add/")
    page.get_by_label(re.compile(r"^email:?$", re.I)).fill("nina@example.com")
    page.get_by_label(re.compile(r"^name:?$", re.I)).fill("Nina New")
    page.get_by_label(re.compile(r"^roles:?$", re.I)).select_option(label="shop:clerk — Shop clerks")
    page.get_by_label(re.compile(r"send an invitation", re.I)).check()
    with page.expect_navigation():
        page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messagelist")).to_contain_text("invitation")
    nina = get_user_model().objects.get(email="nina@example.com")
    assert nina.properties == {"name": "Nina New"}
    assert RoleBinding.objects.filter(principal=nina, role=clerk).exists()


def test_administrator_creates_a_client_with_the_wizard_and_copies_its_secret(browser_page):
    page = browser_page
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    owner = make_principal(email="owner@example.com", password=PASSWORD, roles=["system:owner"])
    console_sign_in(page, owner.email, PASSWORD)
    page.goto("/admin/clients/client/")
    with page.expect_navigation():
        page.get_by_role("link", name="New client (wizard)").click()
    page.get_by_label(re.compile(r"web application", re.I)).check()
    page.get_by_label(re.compile(r"^name:?$", re.I)).fill("Shop web")
    page.get_by_label(re.compile(r"^redirect uris:?$", re.I)).fill("https://shop.example/callback")
    page.get_by_label(re.compile(r"^scopes:?$", re.I)).select_option(["openid", "email"])
    with page.expect_navigation():
        page.get_by_role("button", name="Create client").click()
    expect(page).to_have_url(re.compile(r"/admin/clients/client/new-secrets/\?"))
    client = get_application_model().objects.get(name="Shop web")
    assert client.client_type == "confidential" and client.grant_types == ["authorization_code", "refresh_token"]
    assert client.scopes == ["openid", "email"]
    page.get_by_role("button", name="Copy secret").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == page.locator("code.client-secret").inner_text()
    assert client_services.authenticate_secret(client, copied)


def test_administrator_approves_a_jit_request_from_the_request_page(browser_page):
    page = browser_page
    role = make_role(["prod/db:read"], key="ops:db-read")
    approver = make_principal(email="lead@example.com", password=PASSWORD, roles=["system:portal:full", role.key],
                              permissions=["jit/requests:approve", "jit/requests:read"])
    requester = make_principal(email="dev@example.com")
    jit_services.save_eligibility(None, Eligibility(principal=requester, role=role, max_duration=timedelta(hours=1),
                                                    approval_required=True, justification_required=False))
    request = jit_services.request_access(requester, role, timedelta(minutes=30), justification="incident 9")
    console_sign_in(page, approver.email, PASSWORD)
    page.goto("/admin/jit/inbox/")
    with page.expect_navigation():
        page.get_by_role("link", name="dev@example.com").click()
    expect(page).to_have_url(re.compile(rf"/admin/jit/requests/{request.pk}/$"))
    expect(page.locator("#access-request")).to_contain_text("incident 9")
    page.get_by_label("Comment").fill("go ahead")
    with page.expect_navigation():
        page.get_by_role("button", name="Approve").click()
    expect(page.locator(".messagelist")).to_contain_text("approved")
    expect(page.locator("#request-status")).to_have_text("Active")
    expect(page.locator("#approvals")).to_contain_text("go ahead")
    expect(page.locator("#time-left")).to_have_text(re.compile(r"^(29 min \d+ s|30 min 0 s)$"))  # counting down
    assert AccessRequest.objects.get(pk=request.pk).status == "active"
