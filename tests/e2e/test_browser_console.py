"""The console's look in a real browser (Chromium through Playwright): the dashboard renders under the CSP
with its chart and grouped navigation, and the theme toggles to dark and back. A console error, script
error or CSP violation fails the test (tests/e2e/browser.py)."""

import os
from pathlib import Path

import pytest
from django.core.management import call_command

from tests.conftest import make_principal
from tests.e2e.browser import browser_page, chromium  # noqa: F401 (fixtures)
from tests.e2e.test_browser import PASSWORD, console_sign_in, expect

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
# Set to refresh docs/img/dashboard*.png from this test (not in CI).
SCREENSHOTS = os.environ.get("IAM_CONSOLE_SCREENSHOTS")


def test_dashboard_renders_with_its_chart_and_dark_mode_toggles(browser_page):
    page = browser_page
    owner = make_principal(email="admin@example.com", password=PASSWORD, roles=["system:owner"])
    make_principal(email="clerk@example.com")
    call_command("audit_verify", "--no-progress")
    console_sign_in(page, owner.email, PASSWORD)
    page.goto("/admin/")

    expect(page.locator("#dashboard-counts")).to_contain_text("Principals")
    chart = page.locator("#activity-chart svg")
    expect(chart).to_be_visible()
    assert chart.locator("rect.bar").count() == 14 * 3
    assert chart.bounding_box()["height"] > 100  # the stylesheet (a file, under the CSP) sized it
    expect(page.locator("#chain-status")).to_contain_text("Intact")
    for group in ("People", "Applications", "Access", "Just-in-time", "Audit", "Settings"):
        expect(page.locator("#content-main").get_by_role("link", name=group, exact=True)).to_be_visible()
    expect(page.locator("#content-main").get_by_role("link", name="Check access")).to_be_visible()
    # Branding: the logo is served (not blocked) and the bars take the brand colour from console.css.
    assert page.locator("#site-name img.brand-logo").evaluate("img => img.naturalWidth") > 0
    light_bar = chart.locator("rect.bar.signins").first.evaluate("e => getComputedStyle(e).fill")
    light_bg = page.evaluate("getComputedStyle(document.body).backgroundColor")

    toggle = page.locator("button.theme-toggle").first
    if SCREENSHOTS:
        page.screenshot(path=str(Path(SCREENSHOTS) / "dashboard.png"), full_page=True)
    for _ in range(3):  # auto → light → dark (Django's toggle cycles through the three)
        if page.evaluate("document.documentElement.dataset.theme") == "dark":
            break
        toggle.click()
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    dark_bg = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert dark_bg != light_bg and dark_bg == "rgb(18, 18, 18)"
    assert chart.locator("rect.bar.signins").first.evaluate("e => getComputedStyle(e).fill") == light_bar
    if SCREENSHOTS:
        page.screenshot(path=str(Path(SCREENSHOTS) / "dashboard-dark.png"), full_page=True)
    page.reload()  # the choice is remembered
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
