"""The IBM-face objects in the console: keys (lock/disable actions through the services), profiles,
policies and the account, for an owner; every screen renders."""

import pytest
from django.test import Client as HttpClient

from clients import services as client_services
from clients.models import ApiKey
from ibmcloud.models import AccountSettings, TrustedProfile
from tests.conftest import make_principal

pytestmark = pytest.mark.django_db
PASSWORD = "Console-passphrase-42"


def test_console_screens_and_key_actions():
    owner = make_principal(email="owner@example.com", roles=["system:owner"], password=PASSWORD)
    key, value = client_services.create_api_key(None, owner, "ops key")
    TrustedProfile.objects.create(name="idp admins")
    AccountSettings.current()
    http = HttpClient()
    http.post("/admin/login/", {"username": owner.email, "password": PASSWORD, "next": "/admin/"})
    for url in ("/admin/clients/apikey/", f"/admin/clients/apikey/{key.pk}/change/", "/admin/ibmcloud/trustedprofile/",
                "/admin/ibmcloud/policy/", "/admin/ibmcloud/accountsettings/"):
        page = http.get(url)
        assert page.status_code == 200, url
        assert value.encode() not in page.content
    http.post("/admin/clients/apikey/", {"action": "disable_selected", "_selected_action": [key.pk]})
    assert ApiKey.objects.get(pk=key.pk).disabled is True
    http.post("/admin/clients/apikey/", {"action": "lock_selected", "_selected_action": [key.pk]})
    assert ApiKey.objects.get(pk=key.pk).locked is True


def _console(identity):
    http = HttpClient()
    http.force_login(identity)
    return http


def _profile_form(name="federated", **rule):
    data = {"name": name, "description": "", "email": "", "rules-TOTAL_FORMS": "0", "rules-INITIAL_FORMS": "0"}
    if rule:
        data.update({"rules-TOTAL_FORMS": "1", **{f"rules-0-{field}": value for field, value in {
            "name": "", "type": "Profile-SAML", "realm_name": "", "cr_type": "", "expiration": "3600",
            "conditions": '[{"claim": "groups", "operator": "EQUALS", "value": "admins"}]', **rule}.items()}})
    return data


def test_the_console_saves_a_profile_and_its_rules_through_the_services(owner):
    from audit.models import AuditEvent
    from ibmcloud.models import ClaimRule

    response = _console(owner).post("/admin/ibmcloud/trustedprofile/add/", _profile_form(name="admins",
                                                                                        realm_name="idp"))
    assert response.status_code == 302, response.content
    rule = ClaimRule.objects.select_related("profile").get()
    assert rule.profile.name == "admins" and rule.profile.iam_id.startswith("iam-Profile-")
    assert rule.conditions == [{"claim": "groups", "operator": "EQUALS", "value": "admins"}]
    created = AuditEvent.objects.filter(action="create", target_type__in=["trustedProfile", "claimRule"])
    assert sorted(created.values_list("target_type", "actor")) == [("claimRule", owner.iam_id),
                                                                   ("trustedProfile", owner.iam_id)]
    page = _console(owner).get(f"/admin/ibmcloud/trustedprofile/{rule.profile.pk}/change/")
    assert page.status_code == 200
    change = {**_profile_form(name="admins", expiration="7200"), "rules-INITIAL_FORMS": "1",
              "rules-0-id": str(rule.pk), "rules-0-profile": str(rule.profile.pk)}
    response = _console(owner).post(f"/admin/ibmcloud/trustedprofile/{rule.profile.pk}/change/", change)
    assert response.status_code == 302, response.content
    rule.refresh_from_db()
    assert rule.expiration == 7200 and rule.version == 2
    response = _console(owner).post(f"/admin/ibmcloud/trustedprofile/{rule.profile.pk}/change/",
                                    {**change, "rules-0-DELETE": "on"})
    assert response.status_code == 302 and not ClaimRule.objects.exists()
    assert AuditEvent.objects.filter(action="delete", target_type="claimRule", actor=owner.iam_id).count() == 1


@pytest.mark.parametrize("rule, fragment", [
    ({"conditions": '[{"claim": "groups", "operator": "LIKE", "value": "adm"}]'}, "operator"),
    ({"conditions": "[]"}, "condition"),
    ({"expiration": "60"}, "900"),
    ({"type": "Profile-Other"}, "Profile-SAML"),
])
def test_the_console_refuses_a_claim_rule_the_api_refuses(owner, rule, fragment):
    response = _console(owner).post("/admin/ibmcloud/trustedprofile/add/", _profile_form(**rule))
    assert response.status_code == 200 and fragment in response.content.decode()
    assert not TrustedProfile.objects.exists()


def test_deleting_a_profile_in_the_console_goes_through_the_service(owner):
    from audit.models import AuditEvent
    from ibmcloud import services

    profile = services.create_profile(None, "admins")
    services.create_claim_rule(None, profile.pk, type="Profile-SAML",
                               conditions=[{"claim": "g", "operator": "EQUALS", "value": "a"}])
    response = _console(owner).post(f"/admin/ibmcloud/trustedprofile/{profile.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302 and not TrustedProfile.objects.exists()
    deleted = AuditEvent.objects.filter(action="delete", actor=owner.iam_id)
    assert sorted(deleted.values_list("target_type", flat=True)) == ["claimRule", "trustedProfile"]
