"""The client form (grant types as checkboxes, scopes from the known ones, redirect URIs one per line)
and the client wizard (web app / SPA / machine to machine): the API's rules, never a 500."""

import pytest
from django.test import Client as HttpClient
from oauth2_provider.models import get_application_model

from clients import services
from roles.models import RoleBinding
from tests.conftest import make_principal, make_role

pytestmark = pytest.mark.django_db

INLINES = {"secrets-TOTAL_FORMS": "0", "secrets-INITIAL_FORMS": "0", "secrets-MIN_NUM_FORMS": "0",
           "secrets-MAX_NUM_FORMS": "1000"}


def console(principal):
    client = HttpClient()
    client.force_login(principal)
    return client


def test_the_form_shows_checkboxes_known_scopes_and_one_uri_per_line(owner):
    make_role(["orders/items:read"], key="shop:reader")
    client = services.create_client(None, {"name": "Web", "grantTypes": ["authorization_code"],
                                           "redirectUris": ["https://a.example/cb", "https://b.example/cb"],
                                           "scopes": ["openid"]})
    page = console(owner).get(f"/admin/clients/client/{client.pk}/change/").content.decode()
    assert 'type="checkbox" name="grant_types" value="client_credentials"' in page
    assert '<option value="orders/items:read">' in page and '<option value="openid" selected>' in page
    assert "https://a.example/cb\nhttps://b.example/cb</textarea>" in page


def test_the_form_saves_lists_through_the_service(owner):
    make_role(["orders/items:read"], key="shop:reader")
    client = services.create_client(None, {"name": "Job", "grantTypes": ["client_credentials"]})
    done = console(owner).post(f"/admin/clients/client/{client.pk}/change/", {
        "name": "Job", "client_type": "confidential", "grant_types": ["client_credentials"],
        "scopes": ["orders/items:read"], "redirect_uris": "", **INLINES})
    assert done.status_code == 302
    client.refresh_from_db()
    assert client.scopes == ["orders/items:read"] and client.grant_types == ["client_credentials"]
    bad = console(owner).post(f"/admin/clients/client/{client.pk}/change/", {
        "name": "Job", "client_type": "confidential", "grant_types": ["nonsense"], "scopes": ["not a scope"],
        "redirect_uris": "", **INLINES})
    assert bad.status_code == 200 and "nonsense is not one of the available choices" in bad.content.decode()


@pytest.mark.parametrize("kind, client_type, grants", [
    ("web", "confidential", ["authorization_code", "refresh_token"]),
    ("spa", "public", ["authorization_code", "refresh_token"]),
    ("m2m", "confidential", ["client_credentials"]),
])
def test_the_wizard_sets_the_kind(owner, kind, client_type, grants):
    http = console(owner)
    assert http.get("/admin/clients/client/wizard/").status_code == 200
    uris = "" if kind == "m2m" else "https://app.example/callback"
    done = http.post("/admin/clients/client/wizard/", {"kind": kind, "name": f"{kind} app", "redirect_uris": uris})
    assert done.status_code == 302
    client = get_application_model().objects.get(name=f"{kind} app")
    assert client.client_type == client_type and client.grant_types == grants
    if client_type == "confidential":
        assert "/admin/clients/client/new-secrets/" in done["Location"]
        shown = http.get(done["Location"])
        value = shown.context["made"][0]["value"]
        assert services.authenticate_secret(client, value)
        assert "Copy secret" in shown.content.decode() and "portal/copy.js" in shown.content.decode()
    else:
        assert done["Location"] == f"/admin/clients/client/{client.pk}/change/"
        assert client.redirect_uris == "https://app.example/callback"


def test_the_wizard_names_the_bad_field_and_makes_nothing(owner):
    http = console(owner)
    missing = http.post("/admin/clients/client/wizard/", {"kind": "web", "name": "No uri"})
    assert missing.status_code == 400 and "needs at least one redirect URI" in missing.content.decode()
    wrong = http.post("/admin/clients/client/wizard/", {"kind": "m2m", "name": "Job",
                                                        "redirect_uris": "https://x.example/cb"})
    assert wrong.status_code == 400
    junk = http.post("/admin/clients/client/wizard/", {"kind": "tv", "name": ""})
    assert junk.status_code == 400
    assert not get_application_model().objects.filter(name__in=["No uri", "Job"]).exists()


def test_the_wizard_asks_for_the_write_permission_and_least_privilege():
    reader = console(make_principal(roles=["system:portal:full"], permissions=["iam/clients:read"]))
    assert reader.get("/admin/clients/client/wizard/").status_code == 403
    assert reader.post("/admin/clients/client/wizard/", {"kind": "m2m", "name": "Sneaky"}).status_code == 403
    make_role(["prod/db:write"], key="ops:db")
    writer = console(make_principal(roles=["system:portal:full"], permissions=["iam/clients:write", "iam/clients:read"]))
    refused = writer.post("/admin/clients/client/wizard/", {"kind": "web", "name": "Power", "scopes": ["prod/db:write"],
                                                            "redirect_uris": "https://power.example/cb"})
    assert refused.status_code == 400 and "prod/db" in refused.content.decode()
    assert not get_application_model().objects.filter(name__in=["Sneaky", "Power"]).exists()


def test_roles_are_granted_to_a_client_inline(owner):
    clerk = make_role(["orders/items:read"], key="shop:clerk")
    client = services.create_client(None, {"name": "Job", "grantTypes": ["client_credentials"]})
    http = console(owner)
    page = http.get(f"/admin/clients/client/{client.pk}/change/")
    prefix = [f.formset.prefix for f in page.context["inline_admin_formsets"] if f.formset.model is RoleBinding][0]
    done = http.post(f"/admin/clients/client/{client.pk}/change/", {
        "name": "Job", "client_type": "confidential", "grant_types": ["client_credentials"], "redirect_uris": "",
        **INLINES, f"{prefix}-TOTAL_FORMS": "1", f"{prefix}-INITIAL_FORMS": "0", f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000", f"{prefix}-0-client": str(client.pk), f"{prefix}-0-role": str(clerk.pk)})
    assert done.status_code == 302
    assert RoleBinding.objects.get(client=client).role == clerk
