"""Access answers in a real browser (Chromium through Playwright): an administrator checks access in the
console and sees the engine's reason, then opens a principal's effective access."""

import re

import pytest

from roles.models import RoleBinding
from tests.conftest import make_principal, make_role
from tests.e2e.browser import browser_page, chromium  # noqa: F401 (fixtures)
from tests.e2e.test_browser import PASSWORD, console_sign_in, expect

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_administrator_checks_access_and_sees_the_reason(browser_page):
    page = browser_page
    admin = make_principal(email="admin@example.com", password=PASSWORD, roles=["system:owner"])
    subject = make_principal(email="clerk@example.com", permissions=["orders/items:read"])
    RoleBinding.objects.create(principal=subject, role=make_role(["orders/items:write"], key="shop:office"),
                               conditions={"ipRanges": ["10.0.0.0/8"]})
    console_sign_in(page, admin.email, PASSWORD)

    with page.expect_navigation():
        page.get_by_role("link", name="Check access").click()
    expect(page.get_by_role("heading", name="Check access")).to_be_visible()
    page.get_by_label("Identity").fill("clerk@example.com")
    page.get_by_label("Permission").fill("orders/items:write")
    page.get_by_label("From IP address").fill("192.0.2.10")
    with page.expect_navigation():
        page.get_by_role("button", name="Check").click()
    result = page.locator("#check-result")
    expect(result.get_by_role("heading", name="Denied")).to_be_visible()
    expect(result).to_contain_text("role shop:office: the request does not come from an allowed IP range")

    page.get_by_label("From IP address").fill("10.1.2.3")
    with page.expect_navigation():
        page.get_by_role("button", name="Check").click()
    expect(result.get_by_role("heading", name="Allowed")).to_be_visible()
    expect(result).to_contain_text("granted by role shop:office")

    page.goto(f"/admin/principals/principal/{subject.pk}/change/")
    with page.expect_navigation():
        page.get_by_role("link", name="Effective access").click()
    expect(page).to_have_url(re.compile(rf"/admin/access/principals/{subject.pk}/$"))
    expect(page.locator("table.access-sources")).to_contain_text("shop:office")
