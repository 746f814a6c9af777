"""An email whose local part exceeds RFC 5321's 64 characters is refused wherever an email enters:
the API serializers, the services (and so the commands), the console forms and the IBM face."""

import uuid

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from iam_project.errors import InvalidInput
from principals import services
from ibmcloud.models import TrustedProfile
from tests.conftest import api_client_for, make_principal

pytestmark = pytest.mark.django_db

TOO_LONG = "a" * 65 + "@example.com"
LONGEST = "a" * 64 + "@example.com"


def test_put_refuses_a_65_character_local_part(owner):
    response = api_client_for(owner).put(f"/resources/iam/principals/{uuid.uuid4()}", {"email": TOO_LONG},
                                         format="json")
    assert response.status_code == 400 and "email" in response.json()["errors"]
    assert not get_user_model().objects.filter(email=TOO_LONG).exists()


def test_put_accepts_a_64_character_local_part(owner):
    response = api_client_for(owner).put(f"/resources/iam/principals/{uuid.uuid4()}", {"email": LONGEST},
                                         format="json")
    assert response.status_code == 201


def test_patch_refuses_a_65_character_local_part(owner):
    target = make_principal()
    response = api_client_for(owner).patch(f"/resources/iam/principals/{target.pk}", {"email": TOO_LONG},
                                           format="json")
    assert response.status_code == 400 and "email" in response.json()["errors"]


def test_the_service_refuses_it_whoever_calls(owner):
    with pytest.raises(InvalidInput) as refused:
        services.create_principal(None, TOO_LONG)
    assert "email" in refused.value.errors
    target = make_principal()
    with pytest.raises(InvalidInput):
        services.update_principal(owner, target.pk, email=TOO_LONG)


def test_the_command_refuses_it():
    with pytest.raises(CommandError):
        call_command("createprincipal", TOO_LONG)
    assert not get_user_model().objects.filter(email=TOO_LONG).exists()


def test_the_console_form_refuses_it(owner):
    from django.test import Client

    client = Client()
    client.force_login(owner)
    response = client.post("/admin/principals/principal/add/", {"email": TOO_LONG, "properties": "{}"})
    assert response.status_code == 200  # the form again, with the error on the field
    assert "RFC 5321" in response.content.decode()
    assert not get_user_model().objects.filter(email=TOO_LONG).exists()


def test_the_console_trusted_profile_form_refuses_it(owner):
    from django.test import Client

    client = Client()
    client.force_login(owner)
    response = client.post("/admin/ibmcloud/trustedprofile/add/", {
        "name": "p", "description": "", "email": TOO_LONG,
        "rules-TOTAL_FORMS": "0", "rules-INITIAL_FORMS": "0"})
    assert response.status_code == 200 and "RFC 5321" in response.content.decode()
    assert not TrustedProfile.objects.exists()


def test_the_ibm_face_refuses_it_for_a_trusted_profile(owner):
    from ibmcloud.models import AccountSettings

    account = AccountSettings.current().account_id
    response = api_client_for(owner).post("/v1/profiles", {"name": "p", "account_id": account, "email": TOO_LONG},
                                          format="json")
    assert response.status_code == 400 and response.json()["errors"][0]["message"].startswith("email:")
    response = api_client_for(owner).post("/v1/profiles", {"name": {"x": 1}, "account_id": account},
                                          format="json")
    assert response.status_code == 400
