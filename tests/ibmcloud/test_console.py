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
