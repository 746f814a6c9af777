"""Passkeys in a real browser: Chromium's virtual authenticator (DevTools protocol, WebAuthn domain) registers a
passkey on the account page, answers the second-factor step of a password sign-in, and signs in on its own
(passwordless) — through django-otp-webauthn's script and py_webauthn's checks, under the page's CSP."""

import re

import pytest
from django_otp_webauthn.models import WebAuthnCredential

from audit.models import AuditEvent
from tests.conftest import make_principal
from tests.e2e.browser import browser_page, chromium  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
PASSWORD = "Passkey-passphrase-2026"


def expect(page):
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(page)


def virtual_authenticator(page):
    """A platform authenticator holding discoverable credentials that verifies its user (like a phone's)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable", {"enableUI": False})
    added = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "internal", "hasResidentKey": True, "hasUserVerification": True,
        "isUserVerified": True, "automaticPresenceSimulation": True}})
    return cdp, added["authenticatorId"]


def password_sign_in(page, email):
    page.goto("/oauth/login/?next=/account/mfa/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in", exact=True).click()


def test_a_passkey_is_registered_then_used_as_second_factor_and_alone(browser_page):
    page = browser_page
    principal = make_principal(email="pat@example.com", password=PASSWORD)
    cdp, authenticator = virtual_authenticator(page)

    password_sign_in(page, principal.email)
    expect(page.get_by_role("heading", name="Second factors")).to_be_visible()
    page.get_by_role("button", name="Add a passkey or security key").click()
    expect(page.locator("#factors")).to_contain_text("passkey")
    assert WebAuthnCredential.objects.filter(user=principal, confirmed=True).count() == 1
    held = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]
    assert len(held) == 1 and held[0]["isResidentCredential"]
    assert AuditEvent.objects.filter(action="mfa.enrolled", details__factor="passkey").count() == 1
    page.get_by_label("New name").fill("Laptop")
    page.get_by_role("button", name="Rename").click()
    expect(page.locator("#factors")).to_contain_text("Laptop (passkey)")

    # A password sign-in now asks for the passkey (and offers no code form: there is no app).
    page.context.clear_cookies()
    password_sign_in(page, principal.email)
    assert page.url.split("?")[0].endswith("/account/mfa/verify/")
    assert page.locator("input[name=code]").count() == 0
    with page.expect_navigation(url=re.compile(r"/account/mfa/$")):
        page.get_by_role("button", name="Verify with a passkey").click()
    expect(page.get_by_role("heading", name="Second factors")).to_be_visible()
    verified = AuditEvent.objects.filter(action="mfa.verified").order_by("-at").first()
    assert verified.details["factor"] == "passkey" and verified.details["purpose"] == "sign-in"

    # Passwordless: the passkey alone, from the sign-in page.
    page.context.clear_cookies()
    page.goto("/oauth/login/?next=/account/mfa/")
    with page.expect_navigation(url=re.compile(r"/account/mfa/$")):
        page.get_by_role("button", name="Use a passkey instead").click()
    expect(page.get_by_role("heading", name="Second factors")).to_be_visible()
    verified = AuditEvent.objects.filter(action="mfa.verified").order_by("-at").first()
    assert verified.details["purpose"] == "passwordless" and verified.actor == principal.iam_id
    # The server kept the authenticator's signature counter (a cloned key would fall behind it).
    held = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]
    assert WebAuthnCredential.objects.get(user=principal).sign_count == held[0]["signCount"] >= 2


def test_where_the_account_requires_passkeys_sign_in_enrols_one_first(browser_page):
    from mfa import services

    page = browser_page
    services.set_policy(None, level="LEVEL3")  # everyone, with a passkey or security key
    principal = make_principal(email="quinn@example.com", password=PASSWORD)
    virtual_authenticator(page)

    password_sign_in(page, principal.email)
    assert page.url.split("?")[0].endswith("/account/mfa/enrol/")
    assert page.locator("input[name=code]").count() == 0  # an authenticator app does not meet LEVEL3
    page.get_by_role("button", name="Add a passkey or security key").click()
    expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    assert page.locator("#recovery-codes li").count() == 10
    with page.expect_navigation(url=re.compile(r"/account/mfa/$")):
        page.get_by_role("link", name=re.compile("continue")).click()
    expect(page.locator("#factors")).to_contain_text("passkey")
    assert WebAuthnCredential.objects.filter(user=principal, confirmed=True).count() == 1
