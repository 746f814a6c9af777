"""Clients in the console (writes through the services, a new secret shown once) and the commands."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client as HttpClient
from oauth2_provider.models import get_application_model

from clients import services
from clients.models import ClientSecret
from tests.conftest import make_principal

pytestmark = pytest.mark.django_db
PASSWORD = "Console-passphrase-42"


def console(email="owner@example.com", roles=("system:owner",)):
    make_principal(email=email, roles=list(roles), password=PASSWORD)
    http = HttpClient()
    http.post("/admin/login/", {"username": email, "password": PASSWORD, "next": "/admin/"})
    return http


def test_console_creates_a_client_and_shows_its_first_secret_once():
    http = console()
    response = http.post("/admin/clients/client/add/", follow=True, data={
        "name": "Console app", "client_type": "confidential", "grant_types": '["client_credentials"]',
        "redirect_uris": "", "scopes": '["iam/principals:read"]', "secrets-TOTAL_FORMS": "0",
        "secrets-INITIAL_FORMS": "0", "secrets-MIN_NUM_FORMS": "0", "secrets-MAX_NUM_FORMS": "1000",
    })
    assert response.status_code == 200, response.content[:2000]
    client = get_application_model().objects.get(name="Console app")
    value = response.context["made"][0]["value"]
    assert value.startswith("pcs_") and value.encode() in response.content
    assert "no-store" in response["Cache-Control"]
    assert services.authenticate_secret(client, value)
    page = http.get(f"/admin/clients/client/{client.pk}/change/")
    assert page.status_code == 200 and value.encode() not in page.content  # never shown again


def test_console_action_makes_a_new_secret_and_refuses_system_clients():
    http = console()
    client = services.create_client(None, {"name": "Job", "grantTypes": ["client_credentials"]})
    system = get_application_model().objects.create(name="platform", is_system=True, client_type="confidential")
    response = http.post("/admin/clients/client/", follow=True, data={"action": "new_secret_selected",
                                                    "_selected_action": [client.pk, system.pk]})
    assert response.status_code == 200
    assert [row["client"].pk for row in response.context["made"]] == [client.pk]
    assert ClientSecret.objects.filter(client=system).count() == 0


def test_console_edit_goes_through_the_service_rules():
    http = console()
    client = services.create_client(None, {"name": "Web", "grantTypes": ["client_credentials"]})
    response = http.post(f"/admin/clients/client/{client.pk}/change/", {
        "name": "Web", "client_type": "public", "grant_types": '["client_credentials"]', "redirect_uris": "",
        "scopes": "[]", "secrets-TOTAL_FORMS": "0", "secrets-INITIAL_FORMS": "0",
        "secrets-MIN_NUM_FORMS": "0", "secrets-MAX_NUM_FORMS": "1000",
    }, follow=True)
    assert b"public client has no secret" in response.content
    client.refresh_from_db()
    assert client.client_type == "confidential"


def test_createclient_prints_the_secret_once_and_it_works():
    out = StringIO()
    call_command("createclient", "Nightly job", "--scope", "iam/principals:read", stdout=out)
    text = out.getvalue()
    client = get_application_model().objects.get(name="Nightly job")
    secret = next(line.split()[-1] for line in text.splitlines() if line.startswith("secret:"))
    assert client.client_id in text and services.authenticate_secret(client, secret)
    assert client.grant_types == ["client_credentials"] and client.scopes == ["iam/principals:read"]


def test_createclient_refuses_bad_input():
    with pytest.raises(CommandError):
        call_command("createclient", "Web", "--grant", "authorization_code", stdout=StringIO())  # no redirect URI
    assert not get_application_model().objects.exists()


def test_rotateclientsecret_with_and_without_grace():
    client = services.create_client(None, {"name": "Job", "grantTypes": ["client_credentials"]})
    _, old = services.create_secret(None, client.pk)
    out = StringIO()
    call_command("rotateclientsecret", "Job", "--grace", "30", stdout=out)
    new = out.getvalue().split()[1]
    assert services.authenticate_secret(client, new) and services.authenticate_secret(client, old)
    call_command("rotateclientsecret", client.client_id, stdout=StringIO())
    assert not services.authenticate_secret(client, old) and not services.authenticate_secret(client, new)
    with pytest.raises(CommandError):
        call_command("rotateclientsecret", "nobody", stdout=StringIO())
    with pytest.raises(CommandError):
        call_command("rotateclientsecret", "Job", "--grace", "-5", stdout=StringIO())


def test_expired_tokens_are_purged_by_the_task():
    from datetime import timedelta

    from django.utils import timezone
    from oauth2_provider.models import get_access_token_model

    from clients.tasks import clear_expired_tokens

    client = services.create_client(None, {"name": "Job", "grantTypes": ["client_credentials"]})
    AccessToken = get_access_token_model()
    AccessToken.objects.create(application=client, token="expired", expires=timezone.now() - timedelta(days=1))
    AccessToken.objects.create(application=client, token="live", expires=timezone.now() + timedelta(hours=1))
    clear_expired_tokens.delay()
    assert AccessToken.objects.count() == 1
