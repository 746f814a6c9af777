"""The self-service pages under /account/: each works for a portal-only principal, asks what its API
operation asks, writes through the service, and refuses another's things without a 500."""

from datetime import timedelta

import pytest
from django.test import Client as HttpClient

from audit.models import AuditEvent
from clients.models import ApiKey
from jit import services as jit_services
from jit.models import AccessRequest, Eligibility
from principals.sessions.models import SignInSession
from tests.clients.oidc_helpers import signed_in
from tests.conftest import make_principal, make_role

pytestmark = pytest.mark.django_db

PAGES = ["/account/", "/account/profile/", "/account/password/", "/account/access/", "/account/requests/",
         "/account/api-keys/", "/account/sessions/"]


def browser(principal):
    client = HttpClient()
    client.force_login(principal)
    return client


@pytest.fixture
def portal_user():
    return make_principal(email="ana@example.com", roles=["system:portal:full"], password="old-Passw0rd-long")


def test_a_portal_only_principal_lands_on_its_account_and_every_page_answers(portal_user):
    http = browser(portal_user)
    landing = http.get("/admin/")
    assert landing.status_code == 302 and landing["Location"] == "/account/"
    for url in PAGES:
        page = http.get(url)
        assert page.status_code == 200, url
        assert "ana@example.com" in page.content.decode() or url == "/account/password/"
        assert page["Cache-Control"].startswith("no-store") or "no-store" in page["Cache-Control"]
    home = http.get("/account/").content.decode()
    assert "system:portal:full" in home and "/account/mfa/" in home


def test_an_administrator_still_gets_the_console_index(owner):
    assert browser(owner).get("/admin/").status_code == 200


def test_signed_out_visitors_are_sent_to_sign_in():
    page = HttpClient().get("/account/sessions/")
    assert page.status_code == 302 and "next=/account/sessions/" in page["Location"]


def test_profile_needs_the_write_permission_the_api_asks(portal_user):
    http = browser(portal_user)
    assert "ask an administrator" in http.get("/account/profile/").content.decode()
    refused = http.post("/account/profile/", {"name": "Eve", "email": "eve@example.com"}, follow=True)
    assert "iam/principals:write" in refused.content.decode()
    portal_user.refresh_from_db()
    assert portal_user.email == "ana@example.com" and "name" not in portal_user.properties
    assert AuditEvent.objects.filter(action="access.denied").exists()


def test_profile_saves_through_the_service_and_names_a_bad_field():
    principal = make_principal(email="bo@example.com", roles=["system:portal:full"],
                               permissions=["iam/principals:write"])
    http = browser(principal)
    bad = http.post("/account/profile/", {"name": "Bo", "email": "not-an-email"})
    assert bad.status_code == 400 and "email" in bad.content.decode().lower()
    done = http.post("/account/profile/", {"name": "Bo Berg", "email": "bo.berg@example.com"}, follow=True)
    assert "was saved" in done.content.decode()
    principal.refresh_from_db()
    assert principal.email == "bo.berg@example.com" and principal.properties["name"] == "Bo Berg"


def test_change_password_keeps_this_session(portal_user):
    http = browser(portal_user)
    wrong = http.post("/account/password/", {"current_password": "nope", "new_password": "n3w-Passw0rd-long!",
                                              "confirm_password": "n3w-Passw0rd-long!"})
    assert wrong.status_code == 400 and "not correct" in wrong.content.decode()
    mismatch = http.post("/account/password/", {"current_password": "old-Passw0rd-long",
                                                 "new_password": "n3w-Passw0rd-long!", "confirm_password": "x"})
    assert mismatch.status_code == 400 and "differ" in mismatch.content.decode()
    done = http.post("/account/password/", {"current_password": "old-Passw0rd-long",
                                             "new_password": "n3w-Passw0rd-long!",
                                             "confirm_password": "n3w-Passw0rd-long!"}, follow=True)
    assert "was changed" in done.content.decode()
    portal_user.refresh_from_db()
    assert portal_user.check_password("n3w-Passw0rd-long!")
    assert http.get("/account/").status_code == 200


def test_my_access_lists_each_permission_with_its_role(portal_user):
    role = make_role(["orders/items:read"], key="shop:reader")
    from roles.models import RoleBinding

    RoleBinding.objects.create(principal=portal_user, role=role)
    page = browser(portal_user).get("/account/access/").content.decode()
    assert "orders/items:read" in page and "shop:reader" in page


@pytest.fixture
def eligible(portal_user):
    role = make_role(["prod/db:read"], key="ops:db-read")
    jit_services.save_eligibility(None, Eligibility(principal=portal_user, role=role, max_duration=timedelta(hours=2),
                                                    approval_required=True, justification_required=True))
    return role


def test_request_jit_offers_only_eligible_roles_and_cancels(portal_user, eligible, monkeypatch):
    from django.db import transaction

    monkeypatch.setattr(transaction, "on_commit", lambda func, using=None, robust=False: func())
    other = make_role(["prod/db:write"], key="ops:db-write")
    http = browser(portal_user)
    page = http.get("/account/requests/").content.decode()
    assert "ops:db-read" in page and "ops:db-write" not in page
    forged = http.post("/account/requests/", {"role": f"{other.key}|", "duration": "30m", "justification": "x"})
    assert forged.status_code == 400 and not AccessRequest.objects.exists()
    missing = http.post("/account/requests/", {"role": "ops:db-read|", "duration": "30m"}, follow=True)
    assert "justification" in missing.content.decode().lower() and not AccessRequest.objects.exists()
    too_long = http.post("/account/requests/", {"role": "ops:db-read|", "duration": "3h", "justification": "x"},
                         follow=True)
    assert "At most" in too_long.content.decode()
    bad = http.post("/account/requests/", {"role": "ops:db-read|", "duration": "soon", "justification": "x"})
    assert bad.status_code == 400
    done = http.post("/account/requests/", {"role": "ops:db-read|", "duration": "1h30m",
                                            "justification": "incident 42"}, follow=True)
    assert "awaits approval" in done.content.decode()
    request = AccessRequest.objects.get()
    assert request.duration == timedelta(minutes=90)
    http.post("/account/requests/", {"action": "cancel", "request": str(request.pk)})
    request.refresh_from_db()
    assert request.status == "cancelled"


def test_cancelling_anothers_request_is_refused(portal_user, eligible, monkeypatch):
    from django.db import transaction

    monkeypatch.setattr(transaction, "on_commit", lambda func, using=None, robust=False: func())
    request = jit_services.request_access(portal_user, eligible, timedelta(hours=1), justification="x")
    intruder = browser(make_principal(roles=["system:portal:full"]))
    refused = intruder.post("/account/requests/", {"action": "cancel", "request": str(request.pk)}, follow=True)
    assert refused.status_code == 200 and "Only the requester" in refused.content.decode()
    garbage = intruder.post("/account/requests/", {"action": "cancel", "request": "nonsense"}, follow=True)
    assert garbage.status_code == 200
    request.refresh_from_db()
    assert request.status == "pending"


def test_an_api_key_is_shown_once_and_only_ones_own_keys_are_deleted(portal_user):
    http = browser(portal_user)
    created = http.post("/account/api-keys/", {"name": "laptop", "description": ""})
    assert created.status_code == 200 and created["Cache-Control"].startswith("no-store")
    key = ApiKey.objects.get(iam_id=portal_user.iam_id)
    body = created.content.decode()
    assert key.prefix in body and 'id="new-key-value"' in body
    assert key.prefix in http.get("/account/api-keys/").content.decode()
    assert 'id="new-key-value"' not in http.get("/account/api-keys/").content.decode()
    victim = make_principal(roles=["system:portal:full"])
    from ibmcloud import services as ibm_services

    theirs, _ = ibm_services.create_api_key(victim, victim, "theirs")
    refused = http.post("/account/api-keys/", {"action": "delete", "key": str(theirs.pk)}, follow=True)
    assert "no such API key" in refused.content.decode()
    assert ApiKey.objects.filter(pk=theirs.pk).exists()
    http.post("/account/api-keys/", {"action": "delete", "key": "garbage"})
    http.post("/account/api-keys/", {"action": "delete", "key": str(key.pk)})
    assert not ApiKey.objects.filter(pk=key.pk).exists()


def test_creating_a_key_needs_a_recent_second_factor_when_enrolled(portal_user, settings):
    from mfa import services as mfa_services

    settings.IAM = {**getattr(settings, "IAM", {}), "MFA_STEP_UP_MINUTES": 5}
    device = mfa_services.begin_totp(portal_user, portal_user, "phone")
    from django_otp.oath import totp

    code = f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):0{device.digits}d}"
    mfa_services.confirm_totp(portal_user, portal_user, device.pk, code)
    http = browser(portal_user)
    answer = http.post("/account/api-keys/", {"name": "laptop"})
    assert answer.status_code == 302 and answer["Location"].startswith("/account/mfa/verify/")
    assert not ApiKey.objects.filter(iam_id=portal_user.iam_id).exists()


def test_sessions_list_and_revoke_ones_own_but_not_anothers():
    http, principal = signed_in(permissions=["orders/items:read"])
    record = SignInSession.objects.get(principal=principal)
    mine = browser(principal)
    page = mine.get("/account/sessions/").content.decode()
    assert str(record.pk) in page and "this session" in page
    victim_http, victim = signed_in(permissions=["orders/items:read"])
    theirs = SignInSession.objects.get(principal=victim)
    refused = mine.post("/account/sessions/", {"session": str(theirs.pk)}, follow=True)
    assert refused.status_code == 200 and "No such session" in refused.content.decode()
    assert victim_http.get("/resources/me").status_code == 200
    done = mine.post("/account/sessions/", {"session": str(record.pk)}, follow=True)
    assert "was revoked" in done.content.decode()
    assert http.get("/resources/me").status_code in (401, 403)
    assert AuditEvent.objects.filter(action="session.revoked").count() == 1


def test_guessing_the_current_password_is_limited_with_the_apis_count(settings):
    settings.IAM_RATE_LIMITS = {"CREDENTIAL_FAILURES_PER_IP": "100/1d", "CREDENTIAL_FAILURES_PER_CREDENTIAL": "3/1d",
                                "CREDENTIAL_REQUESTS_PER_IP": "10000/1d", "API_REQUESTS_PER_IDENTITY": "10000/1d"}
    principal = make_principal(roles=["system:portal:full"], password="old-Passw0rd-long")
    http = browser(principal)
    attempt = {"new_password": "n3w-Passw0rd-long!", "confirm_password": "n3w-Passw0rd-long!"}
    for index in range(2):
        assert http.post("/account/password/", {"current_password": f"guess-{index}", **attempt}).status_code == 400
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_login(principal)
    assert api.post("/resources/me/password", {"currentPassword": "guess-api", "newPassword": "x" * 20},
                    format="json").status_code == 400
    refused = http.post("/account/password/", {"current_password": "old-Passw0rd-long", **attempt})
    assert refused.status_code == 429
    principal.refresh_from_db()
    assert principal.check_password("old-Passw0rd-long")


def test_with_a_temporary_password_only_the_password_page_answers():
    principal = make_principal(roles=["system:portal:full"], password="temp-Passw0rd-long", must_change_password=True)
    http = browser(principal)
    for url in ["/account/", "/account/requests/", "/account/api-keys/", "/account/sessions/"]:
        answer = http.get(url)
        assert answer.status_code == 302 and answer["Location"] == "/account/password/", url
    assert http.post("/account/api-keys/", {"name": "sneaky"}).status_code == 302
    assert not ApiKey.objects.filter(iam_id=principal.iam_id).exists()
    assert http.get("/account/password/").status_code == 200
    http.post("/account/password/", {"current_password": "temp-Passw0rd-long", "new_password": "n3w-Passw0rd-long!",
                                     "confirm_password": "n3w-Passw0rd-long!"})
    assert http.get("/account/").status_code == 200
