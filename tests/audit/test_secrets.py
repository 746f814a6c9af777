"""No secret the platform handles — passwords, their hashes, temporary passwords, client secrets,
token values — appears anywhere in the stored trail; token issue and revocation are events."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from oauth2_provider.models import get_access_token_model, get_application_model

from principals.tasks import send_temporary_password
from tests.audit.helpers import dump_trail, events_since, mark
from tests.conftest import api_client_for, make_principal

pytestmark = pytest.mark.django_db


def _client():
    from clients.services import create_secret

    client = get_application_model().objects.create(
        name="backend job", client_type="confidential", grant_types=["client_credentials"],
        scopes=["iam/principals:read"],
    )
    _, client.secret_value = create_secret(None, client.pk)
    return client


def _token(client, secret):
    return Client().post("/oauth/token/", {"grant_type": "client_credentials", "client_id": client.client_id,
                                           "client_secret": secret, "scope": "iam/principals:read"})


def test_no_secret_reaches_the_trail(mailoutbox):
    secrets_seen = []
    owner = make_principal(roles=["system:owner"])
    api = api_client_for(owner)

    created_password = "First-passphrase-991"
    response = api.put("/resources/iam/principals/0b5c0f5e-7a6d-4f4e-9a55-1e5b3c7d9e01",
                       {"email": "s@example.com", "properties": {}, "roles": [], "password": created_password},
                       format="json")
    assert response.status_code == 201
    secrets_seen.append(created_password)
    principal = get_user_model().objects.get(email="s@example.com")
    secrets_seen.append(principal.password)

    send_temporary_password.delay(str(principal.pk))
    temporary = re.search(r"^\s*(\S{12,})\s*$", mailoutbox[-1].body, re.M).group(1)
    principal.refresh_from_db()
    secrets_seen += [temporary, principal.password]

    me = api_client_for(principal)
    new_password = "Second-passphrase-772"
    assert me.post("/resources/me/password", {"currentPassword": temporary, "newPassword": new_password},
                   format="json").status_code == 204
    principal.refresh_from_db()
    secrets_seen += [new_password, principal.password]

    console = Client()
    console.post("/admin/login/", {"username": "s@example.com", "password": "Wrong-guess-123"})
    console.post("/admin/login/", {"username": "s@example.com", "password": new_password})
    secrets_seen.append("Wrong-guess-123")

    client = _client()
    issued = _token(client, client.secret_value).json()
    secrets_seen += [client.secret_value, client.secrets.get().digest, issued["access_token"]]
    access = get_access_token_model().objects.get()
    secrets_seen.append(access.token_checksum)

    trail = dump_trail()
    assert "login.failed" in trail and "token.issued" in trail and "[redacted]" in trail
    for secret in secrets_seen:
        assert secret and secret not in trail, "a secret reached the audit trail"


def test_token_issue_and_revocation_are_events():
    client = _client()
    start = mark()
    token = _token(client, client.secret_value).json()["access_token"]
    [issued] = events_since(start)
    assert issued.action == "token.issued" and issued.target_type == "client"
    assert issued.target_id == str(client.pk) and issued.actor == client.iam_id and issued.actor_type == "client"
    assert issued.details["grantType"] == "client_credentials" and issued.details["scope"] == "iam/principals:read"
    start = mark()
    response = Client().post("/oauth/revoke_token/", {"token": token, "client_id": client.client_id,
                                                      "client_secret": client.secret_value})
    assert response.status_code == 200
    [revoked] = events_since(start)
    assert revoked.action == "token.revoked" and revoked.details["tokenType"] == "access_token"
    assert token not in str(revoked.details)


def test_a_client_without_a_secret_is_refused_with_an_empty_one():
    client = get_application_model().objects.create(
        name="no secret", client_type="confidential", grant_types=["client_credentials"], scopes=["*:*"])
    response = _token(client, "")
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"
    assert not get_access_token_model().objects.exists()
