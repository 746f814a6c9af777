"""The multi-factor API and self-service pages under attack by narrow permissions: resetting someone's factors
needs managing them, nobody enrols or removes a factor for someone else, the policy needs its permission and a
recent second factor, and the last factor stays where one is required."""

import json

import pytest
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.models import AuditEvent
from mfa import services
from tests.conftest import api_client_for

from .helpers import code, enrol_totp, person

pytestmark = pytest.mark.django_db
POLICY = "/resources/iam/mfa/policy"


def reset_path(principal):
    return f"/resources/iam/principals/{principal.pk}/mfa/reset"


def test_my_factors_are_listed_without_a_secret(api_as):
    client = api_as()
    device = enrol_totp(client.principal)
    services.new_recovery_codes(client.principal, client.principal)
    data = client.get("/resources/me/mfa").json()
    assert data["enrolled"] is True and data["recoveryCodesLeft"] == 10
    assert [f["kind"] for f in data["factors"]] == ["totp", "recovery"]
    assert device.key not in json.dumps(data)


def test_an_administrator_resets_someones_factors_once_audited_and_their_sessions_end(owner):
    victim, _ = person("lost-phone@example.com")
    services.new_recovery_codes(victim, victim)
    victim_session = Client()
    victim_session.force_login(victim)
    response = api_client_for(owner).post(reset_path(victim))
    assert response.status_code == 200, response.json()
    assert response.json() == {"totp": 1, "passkeys": 0, "recoveryCodes": 10}
    assert services.factors(victim) == []
    assert AuditEvent.objects.filter(action="mfa.reset", target_id=str(victim.pk)).count() == 1
    assert victim_session.get("/resources/me").status_code in (401, 403)  # signed out everywhere


def test_abuse_resetting_the_factors_of_someone_holding_more_than_you(api_as, owner):
    helpdesk = api_as("iam/principals:write", "iam/principals:read")
    enrol_totp(owner)
    response = helpdesk.post(reset_path(owner))
    assert response.status_code == 403 and len(services.factors(owner)) == 1
    assert not AuditEvent.objects.filter(action="mfa.reset").exists()


def test_abuse_resetting_factors_without_the_write_permission(api_as):
    reader = api_as("iam/principals:read")
    target, _ = person("t@example.com")
    assert reader.post(reset_path(target)).status_code == 403 and len(services.factors(target)) == 1


def test_abuse_resetting_ones_own_factors_to_dodge_them(api_as):
    client = api_as("iam/principals:write", "iam/principals:read")
    enrol_totp(client.principal)
    assert client.post(reset_path(client.principal)).status_code == 403
    assert len(services.factors(client.principal)) == 1


def test_abuse_resetting_with_a_session_that_never_verified_a_factor(owner):
    enrol_totp(owner)  # the administrator has a factor, this session never verified it
    target, _ = person("u@example.com")
    response = api_client_for(owner).post(reset_path(target))
    assert response.status_code == 401 and "insufficient_user_authentication" in response["WWW-Authenticate"]
    assert len(services.factors(target)) == 1


def test_resets_refuse_garbage_ids_cleanly(owner):
    client = api_client_for(owner)
    assert client.post("/resources/iam/principals/not-a-uuid/mfa/reset").status_code == 400
    assert client.post("/resources/iam/principals/00000000-0000-0000-0000-000000000000/mfa/reset").status_code == 404


def test_abuse_enrolling_or_removing_a_factor_for_someone_else():
    attacker, _ = person("mallory@example.com", with_app=False)
    victim, victim_device = person("victim@example.com")
    from iam_project.errors import Forbidden

    with pytest.raises(Forbidden):
        services.begin_totp(attacker, victim)
    pending = TOTPDevice.objects.create(user=victim, name="half", confirmed=False)
    http = Client()
    http.force_login(attacker)
    http.post("/account/mfa/", {"action": "totp-confirm", "device": str(pending.pk), "code": code(pending)})
    assert TOTPDevice.objects.get(pk=pending.pk).confirmed is False
    page = http.post("/account/mfa/", {"action": "remove", "factor": f"totp-{victim_device.pk}"})
    assert page.status_code == 200 and TOTPDevice.objects.filter(pk=victim_device.pk).exists()
    assert not AuditEvent.objects.filter(action="mfa.removed").exists()


def test_the_last_factor_stays_where_one_is_required_and_goes_otherwise(settings):
    settings.IAM = {**settings.IAM, "MFA_REQUIRED_ROLES": ["system:owner"]}
    principal, device = person("keeper@example.com", roles=["system:owner"])
    http = Client()
    http.post("/oauth/login/", {"username": principal.email, "password": "Second-factor-passphrase-2026"})
    http.post("/account/mfa/verify/", {"code": code(device)})
    page = http.post("/account/mfa/", {"action": "remove", "factor": f"totp-{device.pk}"})
    assert page.status_code == 200 and b"last second factor" in page.content
    assert TOTPDevice.objects.filter(pk=device.pk).exists()
    settings.IAM = {**settings.IAM, "MFA_REQUIRED_ROLES": []}
    services.set_policy(None, required_roles=[])
    assert http.post("/account/mfa/", {"action": "remove", "factor": f"totp-{device.pk}"}).status_code == 302
    assert not TOTPDevice.objects.filter(pk=device.pk).exists()
    assert AuditEvent.objects.filter(action="mfa.removed", target_id=str(principal.pk)).count() == 1


def test_the_policy_needs_its_permission_valid_values_and_a_recent_factor(api_as):
    assert api_as("iam/mfa:read").patch(POLICY, {"level": "TOTP"}, format="json").status_code == 403
    writer = api_as("iam/mfa:read", "iam/mfa:write")
    got = writer.get(POLICY)
    assert got.status_code == 200 and got.json()["level"] == "NONE"
    bad = writer.patch(POLICY, {"level": "SOMETIMES"}, format="json")
    assert bad.status_code == 400 and "level" in bad.json()["errors"]
    bad = writer.patch(POLICY, {"requiredRoles": ["no:such-role"]}, format="json")
    assert bad.status_code == 400 and "requiredRoles" in bad.json()["errors"]
    changed = writer.patch(POLICY, {"level": "TOTP4ALL", "requiredRoles": ["system:owner"]}, format="json")
    assert changed.status_code == 200 and changed.json() == {"level": "TOTP4ALL", "requiredRoles": ["system:owner"]}
    event = AuditEvent.objects.get(action="mfa.policy_changed")
    assert event.actor == writer.principal.iam_id
    assert event.details["changes"]["level"] == {"before": "NONE", "after": "TOTP4ALL"}

    enrol_totp(writer.principal)  # now it has a factor, and this session never verified one
    stale = writer.patch(POLICY, {"level": "NONE"}, format="json")
    assert stale.status_code == 401 and services.policy().level == "TOTP4ALL"


def test_an_operator_resets_a_locked_out_persons_factors_with_a_command():
    from io import StringIO

    from django.core.management import call_command

    principal, _ = person("locked@example.com")
    out = StringIO()
    call_command("resetmfa", principal.email, stdout=out)
    assert "1 totp" in out.getvalue() and services.factors(principal) == []
    event = AuditEvent.objects.get(action="mfa.reset")
    assert event.actor == "system" and event.target_id == str(principal.pk)


def test_abuse_a_half_finished_sign_in_cannot_register_a_passkey():
    """Someone who knows the password but not the factor must not add a passkey of their own instead."""
    from .helpers import sign_in

    victim, _ = person("half@example.com")
    http, response = sign_in("/oauth/login/", victim.email)
    assert response["Location"].startswith("/account/mfa/verify/")
    begun = http.post("/account/mfa/webauthn/registration/begin/", content_type="application/json")
    assert begun.status_code in (401, 403) and "otp_webauthn_register_state" not in http.session
    assert not AuditEvent.objects.filter(action="mfa.enrolled", details__factor="passkey").exists()


def test_abuse_the_ibm_account_mfa_setting_with_a_session_that_never_verified_a_factor(api_as):
    from ibmcloud.models import AccountSettings

    admin = api_as("iam/account:read", "iam/account:write")
    enrol_totp(admin.principal)
    account = AccountSettings.current()
    response = admin.put(f"/v1/accounts/{account.account_id}/settings/identity", {"mfa": "NONE_NO_ROPC"},
                         format="json", HTTP_IF_MATCH="*")
    assert response.status_code == 401 and "insufficient_user_authentication" in response["WWW-Authenticate"]
    assert services.policy().level == "NONE"


def test_ibm_report_and_status_lookups_refuse_garbage_cleanly(api_as):
    """A NUL byte names no report or user (PostgreSQL cannot even compare it): 404, never a 500."""
    from ibmcloud.models import AccountSettings

    reader = api_as("iam/mfa:read")
    account = AccountSettings.current().account_id
    assert reader.get(f"/v1/mfa/accounts/{account}/report/ab%00cd").status_code == 400  # the request guard
    from iam_project.errors import NotFound

    with pytest.raises(NotFound):  # and the service itself, whoever calls it
        services.find_report("ab\x00cd")
    assert reader.get(f"/v1/mfa/accounts/{account}/status", {"iam_id": "iam-\x00x"}).status_code in (400, 404)
    assert reader.get(f"/v1/mfa/accounts/{account}/status").status_code == 400  # iam_id is required
    assert reader.get("/v1/mfa/accounts/other-account/status", {"iam_id": "x"}).status_code == 400  # malformed
    assert reader.get(f"/v1/mfa/accounts/{'0' * 32}/status", {"iam_id": "x"}).status_code == 403  # another's
