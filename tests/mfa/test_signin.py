"""Signing in with a second factor: the console and the OAuth sign-in ask for it after the password, recovery
codes work once, a required enrolment happens at the next sign-in, and failed codes count toward the lock-out."""

import json
import time
from datetime import timedelta

import pytest
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.models import AuditEvent
from iam_project.stepup import AMR_SESSION_KEY
from mfa import services

from .helpers import app_for, code, hidden_secret, person, sign_in, signed_in, wrong_code

pytestmark = pytest.mark.django_db


def events(action, principal=None):
    found = AuditEvent.objects.filter(action=action)
    return found.filter(target_id=str(principal.pk)) if principal is not None else found


@pytest.mark.parametrize("page,next_url", [("/oauth/login/", "/account/mfa/"), ("/admin/login/", "/admin/")])
def test_the_password_alone_signs_nobody_in_when_a_second_factor_exists(page, next_url):
    principal, device = person("ana@example.com", roles=["system:owner"])
    http, response = sign_in(page, principal.email, next_url=next_url)
    assert response.status_code == 302 and response["Location"].startswith("/account/mfa/verify/")
    assert not signed_in(http)
    assert http.get(next_url).status_code == 302  # still signed out

    response = http.post("/account/mfa/verify/", {"code": wrong_code(device), "next": next_url})
    assert response.status_code == 400 and b"not correct" in response.content and not signed_in(http)
    assert events("mfa.failed", principal).count() == 1

    time.sleep(1.1)  # django-otp throttles a device for a second after a failure (doubling with each)
    response = http.post("/account/mfa/verify/", {"code": code(device), "next": next_url})
    assert response.status_code == 302 and response["Location"] == next_url and signed_in(http)
    assert http.session[AMR_SESSION_KEY] == ["pwd", "otp", "mfa"]
    assert http.get(next_url).status_code == 200
    verified = events("mfa.verified", principal).get()
    assert verified.details["factor"] == "totp" and verified.details["purpose"] == "sign-in"


def test_a_principal_without_a_factor_and_no_requirement_signs_in_with_the_password():
    principal, _ = person("bo@example.com", with_app=False)
    http, response = sign_in("/oauth/login/", principal.email)
    assert response.status_code == 302 and signed_in(http)
    assert http.session[AMR_SESSION_KEY] == ["pwd"]


def test_recovery_codes_work_once_each_and_are_never_in_the_audit_trail():
    principal, device = person("cy@example.com")
    codes = services.new_recovery_codes(principal, principal)
    assert len(codes) == 10 and len(set(codes)) == 10

    http, _ = sign_in("/oauth/login/", principal.email)
    response = http.post("/account/mfa/verify/", {"code": codes[0].upper(), "next": "/account/mfa/"})
    assert response.status_code == 302 and signed_in(http)
    used = events("mfa.recovery_code_used", principal).get()
    assert used.details["remaining"] == 9

    http, _ = sign_in("/oauth/login/", principal.email)
    response = http.post("/account/mfa/verify/", {"code": codes[0], "next": "/account/mfa/"})
    assert response.status_code == 400 and not signed_in(http)

    trail = json.dumps(list(AuditEvent.objects.values("details", "changes")))
    for secret in [*codes, device.key]:
        assert secret not in trail and secret.replace("-", "") not in trail


def test_an_owner_with_no_factor_is_taken_to_enrolment_and_signed_in_only_after_it(settings):
    settings.IAM = {**settings.IAM, "MFA_REQUIRED_ROLES": ["system:owner"]}  # the shipped default
    principal, _ = person("dee@example.com", with_app=False, roles=["system:owner"])
    http, response = sign_in("/admin/login/", principal.email, next_url="/admin/")
    assert response.status_code == 302 and response["Location"].startswith("/account/mfa/enrol/")
    assert not signed_in(http)

    page = http.get(response["Location"])
    assert page.status_code == 200 and "no-store" in page["Cache-Control"]
    secret = hidden_secret(page.content.decode())
    device = TOTPDevice.objects.get(user=principal, confirmed=False)
    assert app_for(device).secret == secret  # the key on the page is the stored one

    response = http.post("/account/mfa/enrol/", {"code": code(device), "next": "/admin/"})
    assert response.status_code == 200 and signed_in(http)
    shown = response.content.decode()
    assert shown.count("<li><code>") == 10
    assert http.session[AMR_SESSION_KEY] == ["pwd", "otp", "mfa"]
    assert events("mfa.enrolled", principal).count() == 2  # the app, then its recovery codes
    assert http.get("/admin/").status_code == 200


def test_an_account_level_requirement_applies_to_everyone():
    services.set_policy(None, level="TOTP4ALL")
    principal, _ = person("eve@example.com", with_app=False)
    http, response = sign_in("/oauth/login/", principal.email)
    assert response["Location"].startswith("/account/mfa/enrol/") and not signed_in(http)


def test_failed_codes_count_toward_the_sign_in_lock_out(settings):
    settings.AXES_FAILURE_LIMIT = 3
    settings.AXES_COOLOFF_TIME = timedelta(minutes=15)
    principal, device = person("fay@example.com")
    http, _ = sign_in("/oauth/login/", principal.email)
    statuses = [http.post("/account/mfa/verify/", {"code": wrong_code(device)}).status_code for _ in range(3)]
    assert statuses == [400, 400, 429]
    # Locked: the right code no longer helps, nor does the right password from a fresh start.
    http, response = sign_in("/oauth/login/", principal.email)
    assert response.status_code == 429 and not signed_in(http)
    assert events("mfa.failed", principal).count() == 3


def test_a_pending_sign_in_ends_when_the_password_changes(settings):
    principal, device = person("gus@example.com")
    http, _ = sign_in("/oauth/login/", principal.email)
    principal.set_password("Another-passphrase-2026")
    principal.save()
    response = http.post("/account/mfa/verify/", {"code": code(device)})
    assert response.status_code == 302 and not signed_in(http)


def test_verify_and_enrol_pages_without_a_pending_sign_in_send_to_sign_in():
    http = Client()
    assert http.get("/account/mfa/verify/").status_code == 302
    assert http.get("/account/mfa/enrol/").status_code == 302
    assert http.post("/account/mfa/verify/", {"code": "123456"}).status_code == 302


def test_signing_in_as_someone_else_over_an_open_session_asks_for_their_factor_not_the_sessions():
    first, first_device = person("first@example.com")
    second, second_device = person("second@example.com")
    http, _ = sign_in("/oauth/login/", first.email)
    http.post("/account/mfa/verify/", {"code": code(first_device)})
    assert http.session["_auth_user_id"] == str(first.pk)
    http, response = sign_in("/oauth/login/", second.email, http=http)
    assert response["Location"].startswith("/account/mfa/verify/")
    refused = http.post("/account/mfa/verify/", {"code": app_for(first_device).now()})
    assert refused.status_code == 400 and http.session["_auth_user_id"] == str(first.pk)
    time.sleep(1.1)  # the second device's throttle after that failure
    http.post("/account/mfa/verify/", {"code": code(second_device)})
    assert http.session["_auth_user_id"] == str(second.pk)
