"""The self-service page: adding an authenticator app (QR code and key shown once, confirmed with the app's code),
receiving recovery codes, and a second app needing a recent second factor first."""

import pytest
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from mfa import services

from .helpers import app_for, code, hidden_secret, person

pytestmark = pytest.mark.django_db


def test_adding_an_authenticator_app_then_recovery_codes_from_the_account_page():
    principal, _ = person("page@example.com", with_app=False)
    http = Client()
    http.force_login(principal)
    page = http.post("/account/mfa/", {"action": "totp-begin", "name": "Work phone"})
    assert page.status_code == 200 and "no-store" in page["Cache-Control"]
    html = page.content.decode()
    assert 'src="data:image/svg+xml' in html
    device = TOTPDevice.objects.get(user=principal, confirmed=False)
    assert app_for(device).secret == hidden_secret(html)

    wrong = http.post("/account/mfa/", {"action": "totp-confirm", "device": str(device.pk), "code": "12345"})
    assert wrong.status_code == 400 and not TOTPDevice.objects.get(pk=device.pk).confirmed
    shown = http.post("/account/mfa/", {"action": "totp-confirm", "device": str(device.pk), "code": code(device)})
    assert shown.status_code == 200 and shown.content.decode().count("<li><code>") == 10
    assert [f.kind for f in services.factors(principal)] == ["totp", "recovery"]
    assert services.factors(principal)[0].name == "Work phone"


def test_a_second_app_needs_the_first_one_verified_recently():
    principal, device = person("two@example.com")
    http = Client()
    http.force_login(principal)  # signed in without verifying the app (e.g. before it was enrolled)
    response = http.post("/account/mfa/", {"action": "totp-begin", "name": "Tablet"})
    assert response.status_code == 302 and response["Location"].startswith("/account/mfa/verify/")
    assert not TOTPDevice.objects.filter(user=principal, confirmed=False).exists()
    assert http.post("/account/mfa/verify/", {"code": code(device)}).status_code == 302
    assert http.post("/account/mfa/", {"action": "totp-begin", "name": "Tablet"}).status_code == 200
