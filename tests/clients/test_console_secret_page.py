"""The console's one-time secret page: redirect after the POST, the client id shown, the value shown
once and never stored, logged or audited; a refresh mints nothing and shows nothing."""

import logging

import pytest
from django.contrib.sessions.models import Session
from django.test import Client as HttpClient
from oauth2_provider.models import get_application_model

from audit.models import AuditEvent
from clients import services
from clients.models import ClientSecret
from tests.conftest import make_principal

pytestmark = pytest.mark.django_db
PASSWORD = "Secret-page-passphrase-9"
ADD_FORM = {
    "client_type": "confidential", "grant_types": '["client_credentials"]', "redirect_uris": "",
    "scopes": '["iam/principals:read"]', "secrets-TOTAL_FORMS": "0", "secrets-INITIAL_FORMS": "0",
    "secrets-MIN_NUM_FORMS": "0", "secrets-MAX_NUM_FORMS": "1000",
}


@pytest.fixture
def console():
    make_principal(email="owner@example.com", roles=["system:owner"], password=PASSWORD)
    http = HttpClient()
    assert http.post("/admin/login/", {"username": "owner@example.com", "password": PASSWORD}).status_code == 302
    return http


def everything_stored_and_logged(caplog):
    """Every place a value could have landed: session rows (decoded), audit events, log records."""
    sessions = " ".join(str(session.get_decoded()) for session in Session.objects.all())
    audit = " ".join(str(event.__dict__) for event in AuditEvent.objects.all())
    return " ".join([sessions, audit, caplog.text])


def test_adding_a_client_redirects_to_a_page_showing_its_id_and_secret_once(console, caplog):
    caplog.set_level(logging.DEBUG)
    response = console.post("/admin/clients/client/add/", {"name": "Console app", **ADD_FORM})
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/clients/client/new-secrets/?")
    client = get_application_model().objects.get(name="Console app")
    assert ClientSecret.objects.filter(client=client).count() == 1

    page = console.get(response["Location"])
    assert page.status_code == 200 and "no-store" in page["Cache-Control"]
    [row] = page.context["made"]
    value = row["value"]
    assert services.authenticate_secret(client, value)
    html = page.content.decode()
    assert client.client_id and f'<code class="client-id">{client.client_id}</code>' in html
    assert f'<code class="client-secret">{value}</code>' in html

    again = console.get(response["Location"])  # a refresh
    assert again.status_code == 200 and again.context["made"] == []
    assert value not in again.content.decode() and "no secret to show" in again.content.decode()
    assert ClientSecret.objects.filter(client=client).count() == 1  # nothing minted by the refresh
    assert value not in everything_stored_and_logged(caplog)


def test_between_the_post_and_the_page_the_session_holds_no_readable_secret(console, caplog):
    response = console.post("/admin/clients/client/add/", {"name": "Pending app", **ADD_FORM})
    stored = everything_stored_and_logged(caplog)
    page = console.get(response["Location"])
    value = page.context["made"][0]["value"]
    assert value not in stored and value[12:] not in stored  # the stored prefix is public by design


def test_the_page_shows_nothing_without_the_key_from_the_redirect(console):
    response = console.post("/admin/clients/client/add/", {"name": "Keyless app", **ADD_FORM})
    entry_only = response["Location"].split("&key=")[0]
    page = console.get(entry_only)
    assert page.status_code == 200 and page.context["made"] == []
    assert console.get(response["Location"]).context["made"] == []  # the entry was spent all the same


def test_the_bulk_action_redirects_too_and_each_post_gets_its_own_page(console):
    first = services.create_client(None, {"name": "Job one", "grantTypes": ["client_credentials"]})
    second = services.create_client(None, {"name": "Job two", "grantTypes": ["client_credentials"]})
    one = console.post("/admin/clients/client/", {"action": "new_secret_selected", "_selected_action": [first.pk]})
    two = console.post("/admin/clients/client/", {"action": "new_secret_selected", "_selected_action": [second.pk]})
    assert one.status_code == two.status_code == 302
    shown_two = console.get(two["Location"]).context["made"]
    shown_one = console.get(one["Location"]).context["made"]  # an earlier tab still shows its own
    assert [row["client"].pk for row in shown_one] == [first.pk]
    assert [row["client"].pk for row in shown_two] == [second.pk]
    assert services.authenticate_secret(first, shown_one[0]["value"])


def test_another_session_cannot_read_the_page(console):
    response = console.post("/admin/clients/client/add/", {"name": "Private app", **ADD_FORM})
    make_principal(email="other@example.com", roles=["system:owner"], password=PASSWORD)
    other = HttpClient()
    other.post("/admin/login/", {"username": "other@example.com", "password": PASSWORD})
    assert other.get(response["Location"]).context["made"] == []
    assert len(console.get(response["Location"]).context["made"]) == 1
