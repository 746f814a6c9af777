"""Second factors as their owners have them: an authenticator app computing real TOTP codes (pyotp, from the
key stored on the device), and sign-in with a Django test client."""

import base64
import re
import time

import pyotp
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from mfa import services
from tests.conftest import make_principal

PASSWORD = "Second-factor-passphrase-2026"


def app_for(device):
    """The authenticator app holding the device's key, as the QR code gave it."""
    return pyotp.TOTP(base64.b32encode(device.bin_key).decode(), digits=device.digits, interval=device.step)


def code(device):
    """The app's code for the first time step the device has not used yet (django-otp accepts each step
    once, and one step of drift): what a user typing the next code their app shows would send."""
    device.refresh_from_db()
    now_step = int((time.time() - device.t0) // device.step)
    step = max(now_step, (device.last_t or -1) + 1)
    assert step <= now_step + device.tolerance, "the app has no unused code right now"
    return app_for(device).at(device.t0 + step * device.step)


def wrong_code(device):
    """Six digits no step within the device's tolerance accepts."""
    device.refresh_from_db()
    now_step = int((time.time() - device.t0) // device.step)
    valid = {app_for(device).at(device.t0 + s * device.step) for s in range(now_step - 2, now_step + 3)}
    return next(c for c in (f"{n:06d}" for n in range(100000, 999999, 7919)) if c not in valid)


def enrol_totp(principal):
    """An authenticator app enrolled by the principal itself (begin, then confirm with the app's code)."""
    device = services.begin_totp(principal, principal, "Phone")
    services.confirm_totp(principal, principal, device.pk, code(device))
    return TOTPDevice.objects.get(pk=device.pk)


def person(email, with_app=True, **fields):
    principal = make_principal(email=email, password=PASSWORD, **fields)
    device = enrol_totp(principal) if with_app else None
    return principal, device


def sign_in(page, email, password=PASSWORD, next_url="/account/mfa/", http=None):
    http = http or Client()
    response = http.post(page, {"username": email, "password": password, "next": next_url})
    return http, response


def signed_in(http):
    return "_auth_user_id" in http.session


def hidden_secret(html):
    return re.search(r'id="totp-secret">([A-Z2-7]+)<', html).group(1)
