"""Smoke: the platform starts, the system roles are seeded, the schema renders."""

import pytest

from roles.models import Role

pytestmark = pytest.mark.django_db


def test_system_roles_are_seeded():
    keys = set(Role.objects.filter(is_system=True).values_list("key", flat=True))
    ibm = {"system:ibm:viewer", "system:ibm:operator", "system:ibm:editor", "system:ibm:administrator",
           "system:ibm:reader", "system:ibm:writer", "system:ibm:manager", "system:ibm:iam-identity:serviceidcreator"}
    assert keys == {"system:owner", "system:portal:full", "system:auditor", "system:resource-server"} | ibm


def test_schema_renders(client):
    response = client.get("/api/schema/")
    assert response.status_code == 200
    assert b"/resources/iam/principals" in response.content


def test_unknown_api_version_is_refused(owner):
    from tests.conftest import api_client_for

    api = api_client_for(owner)
    assert api.get("/resources/me", HTTP_ACCEPT="application/json; version=1").status_code == 200
    response = api.get("/resources/me", HTTP_ACCEPT="application/json; version=2")
    assert response.status_code == 406


def test_request_id_is_honoured_and_echoed(owner):
    from tests.conftest import api_client_for

    response = api_client_for(owner).get("/resources/me", HTTP_X_REQUEST_ID="trace-123")
    assert response["X-Request-ID"] == "trace-123"
    generated = api_client_for(owner).get("/resources/me", HTTP_X_REQUEST_ID="bad id with spaces")
    assert generated["X-Request-ID"] and generated["X-Request-ID"] != "bad id with spaces"
