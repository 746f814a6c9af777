"""Self-service in a real browser (Chromium through Playwright): a plain principal signs in, lands on its
account, requests just-in-time access and sees it active with its time left, then lists its sessions and
revokes one (the other sign-in stops working)."""

import os
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.test import Client as HttpClient

from jit import services as jit_services
from jit.models import AccessRequest, Eligibility
from tests.conftest import make_principal, make_role
from tests.e2e.browser import browser_page, chromium  # noqa: F401 (fixtures)
from tests.e2e.test_browser import PASSWORD, console_sign_in, expect

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

# IAM_SCREENSHOTS=docs/img makes the test save the page shown in docs/console.md.
SCREENSHOTS = os.environ.get("IAM_SCREENSHOTS")


def test_a_plain_principal_requests_jit_access_and_revokes_a_session(browser_page):
    page = browser_page
    ana = make_principal(email="ana@example.com", password=PASSWORD, roles=["system:portal:full"],
                         properties={"name": "Ana Lima"})
    role = make_role(["prod/db:read"], key="ops:db-read", description="Read the production database")
    jit_services.save_eligibility(None, Eligibility(principal=ana, role=role, max_duration=timedelta(hours=2),
                                                    approval_required=False, justification_required=True))
    other = HttpClient()  # a second sign-in of Ana's elsewhere, to be revoked from the browser
    assert other.post("/oauth/login/", {"username": ana.email, "password": PASSWORD}).status_code == 302
    assert other.get("/resources/me").status_code == 200

    console_sign_in(page, ana.email, PASSWORD)
    expect(page).to_have_url(re.compile(r"/account/$"))
    expect(page.get_by_role("heading", name="My account")).to_be_visible()
    expect(page.locator("#roles")).to_contain_text("system:portal:full")

    with page.expect_navigation():
        page.get_by_role("navigation", name="My account").get_by_role("link", name="Just-in-time access").click()
    page.get_by_label("Role").select_option(label="ops:db-read")
    page.get_by_label("Duration").fill("1h30m")
    page.get_by_label("Justification").fill("incident 42")
    with page.expect_navigation():
        page.get_by_role("button", name="Request").click()
    expect(page.locator(".messages")).to_contain_text("ops:db-read is active now")
    row = page.locator("#my-requests tbody tr").first
    expect(row).to_contain_text("Active")
    expect(row.locator("time.countdown")).to_have_text(re.compile(r"^1 h 29 min \d+ s$"))  # the script counts
    assert AccessRequest.objects.get().status == "active"

    with page.expect_navigation():
        page.get_by_role("link", name="My access").click()
    expect(page.locator("#effective-access")).to_contain_text("prod/db:read")
    expect(page.locator("#effective-access")).to_contain_text("jit")
    if SCREENSHOTS:
        page.set_viewport_size({"width": 1200, "height": 760})
        page.screenshot(path=str(Path(SCREENSHOTS) / "self-service.png"), full_page=True)

    with page.expect_navigation():
        page.get_by_role("link", name="Sessions").click()
    rows = page.locator("#sessions tbody tr")
    expect(rows.filter(has_text="this session")).to_have_count(1)
    elsewhere = rows.filter(has_text="Sign-in").filter(has_not_text="this session")
    expect(elsewhere).to_have_count(1)
    with page.expect_navigation():
        elsewhere.get_by_role("button", name="Revoke").click()
    expect(page.locator(".messages")).to_contain_text("was revoked")
    expect(page.locator("#sessions tbody tr").filter(has_text="Sign-in")).to_have_count(1)
    assert other.get("/resources/me").status_code in (401, 403)
    page.goto("/account/")
    expect(page.get_by_role("heading", name="My account")).to_be_visible()  # this session goes on
