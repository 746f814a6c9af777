"""/resources/iam/clients: CRUD with ETags, roles, suspension, secrets, and the least-privilege rules."""

import uuid

import pytest
from oauth2_provider.models import get_application_model

from clients.models import ClientSecret
from tests.conftest import make_principal

pytestmark = pytest.mark.django_db
URL = "/resources/iam/clients"
WEB = {"name": "Web app", "redirectUris": ["https://app.example.com/callback"],
       "grantTypes": ["authorization_code", "refresh_token"], "scopes": ["openid", "email", "iam/principals:read"],
       "clientType": "confidential"}


@pytest.fixture
def admin(api_as):
    # iam/principals:read too: the web client's scopes reach it (a client gets no scope its maker lacks).
    return api_as("iam/clients:read", "iam/clients:write", "iam/clients:delete", "iam/principals:read")


def put(api, pk, properties, roles=(), **headers):
    return api.put(f"{URL}/{pk}", {"properties": properties, "roles": list(roles)}, format="json", **headers)


def test_put_creates_then_replaces_idempotently(admin):
    pk = uuid.uuid4()
    created = put(admin, pk, WEB)
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["id"] == body["clientId"] == str(pk) and body["iamId"] == f"iam-ServiceId-{pk}"
    assert body["properties"] == {**WEB, "description": "", "firstParty": False}
    assert "secret" not in str(body).lower()
    again = put(admin, pk, WEB)
    assert again.status_code == 200 and again["ETag"] == created["ETag"]
    changed = put(admin, pk, {**WEB, "name": "Renamed"}, HTTP_IF_MATCH=created["ETag"])
    assert changed.status_code == 200 and changed["ETag"] != created["ETag"]
    stale = put(admin, pk, {**WEB, "name": "Stale"}, HTTP_IF_MATCH=created["ETag"])
    assert stale.status_code == 409
    assert admin.get(f"{URL}/{pk}").json()["properties"]["name"] == "Renamed"


def test_patch_list_get_delete(admin):
    pk = uuid.uuid4()
    etag = put(admin, pk, WEB)["ETag"]
    patched = admin.patch(f"{URL}/{pk}", {"properties": {"description": "main app"}}, format="json",
                          HTTP_IF_MATCH=etag)
    assert patched.status_code == 200 and patched.json()["properties"]["description"] == "main app"
    assert patched.json()["properties"]["name"] == "Web app"
    listed = admin.get(URL, {"nameContains": "web"}).json()["results"]
    assert [c["id"] for c in listed] == [str(pk)]
    assert admin.delete(f"{URL}/{pk}", HTTP_IF_MATCH=etag).status_code == 409
    assert admin.delete(f"{URL}/{pk}").status_code == 204
    assert admin.get(f"{URL}/{pk}").status_code == 404


@pytest.mark.parametrize("properties, field", [
    ({**WEB, "redirectUris": ["http://app.example.com/cb"]}, "properties.redirectUris[0]"),
    ({**WEB, "redirectUris": ["https://app.example.com/cb#frag"]}, "properties.redirectUris[0]"),
    ({**WEB, "redirectUris": ["https://*.example.com/cb"]}, "properties.redirectUris[0]"),
    ({**WEB, "grantTypes": ["password"]}, "properties.grantTypes[0]"),
    ({**WEB, "grantTypes": ["implicit"]}, "properties.grantTypes[0]"),
    ({**WEB, "scopes": ["not a scope"]}, "properties.scopes[0]"),
    ({**WEB, "redirectUri": ["https://x.example.com"]}, "properties.redirectUri"),
    ({**WEB, "redirectUris": []}, "properties.redirectUris"),
    ({**WEB, "grantTypes": ["refresh_token"], "redirectUris": []}, "properties.grantTypes"),
    ({**WEB, "clientType": "public", "grantTypes": ["client_credentials"]}, "properties.clientType"),
    ({"redirectUris": []}, "properties.name"),
])
def test_bad_properties_are_400_naming_the_field_and_write_nothing(admin, properties, field):
    response = put(admin, uuid.uuid4(), properties)
    assert response.status_code == 400
    assert field in response.json()["errors"], response.json()
    assert not get_application_model().objects.exists()


def test_loopback_http_redirect_is_allowed_for_native_apps(admin):
    response = put(admin, uuid.uuid4(), {**WEB, "redirectUris": ["http://127.0.0.1:8765/cb", "http://[::1]/cb"]})
    assert response.status_code == 201, response.json()


def test_permissions_are_required(api_as):
    reader = api_as("iam/clients:read")
    assert reader.get(URL).status_code == 200
    assert put(reader, uuid.uuid4(), WEB).status_code == 403
    assert api_as("iam/principals:read").get(URL).status_code == 403


def test_system_clients_cannot_be_changed_or_deleted(owner):
    from tests.conftest import api_client_for

    api = api_client_for(owner)
    client = get_application_model().objects.create(name="platform", client_type="confidential", is_system=True,
                                                     grant_types=["client_credentials"])
    assert put(api, client.pk, {**WEB, "name": "mine"}).status_code == 403
    assert api.patch(f"{URL}/{client.pk}", {"properties": {"name": "x"}}, format="json").status_code == 403
    assert api.delete(f"{URL}/{client.pk}").status_code == 403
    assert api.post(f"{URL}/{client.pk}/secrets", {}, format="json").status_code == 403
    assert api.put(f"{URL}/{client.pk}/roles", {"roles": []}, format="json").status_code == 403
    client.refresh_from_db()
    assert client.name == "platform"


def test_roles_follow_the_no_escalation_rule(api_as, owner):
    from tests.conftest import api_client_for

    pk = uuid.uuid4()
    assert put(api_client_for(owner), pk, WEB, roles=["system:owner"]).status_code == 201
    admin = api_as("iam/clients:read", "iam/clients:write", "iam/clients:delete")
    # The client holds more than the admin: no changing it, no secret for it, no deleting it.
    assert admin.post(f"{URL}/{pk}/secrets", {}, format="json").status_code == 403
    assert admin.put(f"{URL}/{pk}/roles", {"roles": []}, format="json").status_code == 403
    assert admin.delete(f"{URL}/{pk}").status_code == 403
    other = uuid.uuid4()
    assert put(admin, other, WEB, roles=["system:owner"]).status_code == 403
    assert not get_application_model().objects.filter(pk=other).exists()


def test_secrets_are_shown_once_listed_without_values_and_revoked(admin):
    pk = uuid.uuid4()
    put(admin, pk, {**WEB, "grantTypes": ["client_credentials"], "redirectUris": []})
    first = admin.post(f"{URL}/{pk}/secrets", {}, format="json")
    assert first.status_code == 201 and first["Cache-Control"] == "no-store"
    made = first.json()
    assert set(made) == {"id", "secret", "prefix", "createdAt", "expiresAt"}
    assert made["secret"].startswith("pcs_") and len(made["secret"]) >= 4 + 43
    assert made["secret"].startswith(made["prefix"])
    second = admin.post(f"{URL}/{pk}/secrets", {"expiresAt": "2099-01-01T00:00:00Z"}, format="json").json()
    listed = admin.get(f"{URL}/{pk}/secrets").json()
    assert [s["id"] for s in listed] == [made["id"], second["id"]]
    assert made["secret"] not in str(listed) and "digest" not in str(listed)
    assert listed[1]["expiresAt"].startswith("2099-01-01")
    stored = ClientSecret.objects.get(pk=made["id"])
    assert stored.digest == ClientSecret.digest_of(made["secret"]) and made["secret"] not in str(stored.__dict__)
    assert admin.delete(f"{URL}/{pk}/secrets/{made['id']}").status_code == 204
    assert admin.delete(f"{URL}/{pk}/secrets/{made['id']}").status_code == 404
    assert [s["id"] for s in admin.get(f"{URL}/{pk}/secrets").json()] == [second["id"]]


def test_secret_input_errors(admin):
    pk = uuid.uuid4()
    put(admin, pk, {**WEB, "grantTypes": ["client_credentials"], "redirectUris": []})
    past = admin.post(f"{URL}/{pk}/secrets", {"expiresAt": "2000-01-01T00:00:00Z"}, format="json")
    assert past.status_code == 400 and "expiresAt" in past.json()["errors"]
    junk = admin.post(f"{URL}/{pk}/secrets", {"expiresAt": "soon"}, format="json")
    assert junk.status_code == 400 and "expiresAt" in junk.json()["errors"]
    assert admin.delete(f"{URL}/{pk}/secrets/not-a-uuid").status_code == 400
    public = uuid.uuid4()
    put(admin, public, {**WEB, "clientType": "public"})
    assert admin.post(f"{URL}/{public}/secrets", {}, format="json").status_code == 400


def test_suspend_and_unsuspend(admin):
    pk = uuid.uuid4()
    put(admin, pk, WEB)
    assert admin.post(f"{URL}/{pk}/suspend").json()["suspended"] is True
    assert admin.post(f"{URL}/{pk}/unsuspend").json()["suspended"] is False


def test_unknown_and_malformed_ids(admin):
    assert admin.get(f"{URL}/{uuid.uuid4()}").status_code == 404
    assert admin.get(f"{URL}/nope").status_code == 400


def test_only_an_owner_marks_a_client_first_party(admin, owner):
    from tests.conftest import api_client_for

    pk = uuid.uuid4()
    assert put(admin, pk, {**WEB, "firstParty": True}).status_code == 403  # skipping consent is an owner's call
    assert put(admin, pk, WEB).status_code == 201
    assert admin.patch(f"{URL}/{pk}", {"properties": {"firstParty": True}}, format="json").status_code == 403
    response = api_client_for(owner).patch(f"{URL}/{pk}", {"properties": {"firstParty": True}}, format="json")
    assert response.status_code == 200 and response.json()["properties"]["firstParty"] is True


def test_malformed_redirect_uri_is_400_not_500(admin):
    response = put(admin, uuid.uuid4(), {**WEB, "redirectUris": ["https://[abc/cb"]})
    assert response.status_code == 400 and "properties.redirectUris[0]" in response.json()["errors"]


def test_a_locked_client_keeps_its_roles(owner):
    from tests.conftest import api_client_for

    from clients import services

    client = services.create_client(None, {"name": "svc", "grantTypes": ["client_credentials"]})
    services.set_client_locked(None, client.pk, True)
    response = api_client_for(owner).put(f"{URL}/{client.pk}/roles", {"roles": ["system:portal:full"]},
                                         format="json")
    assert response.status_code == 409
