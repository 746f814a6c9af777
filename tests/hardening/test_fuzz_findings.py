"""One regression test per distinct defect the schema fuzzer (tests/fuzz/run.sh) found: each was a 5xx or an
answer the OpenAPI document did not describe."""

import pytest

from clients import services as client_services
from tests.conftest import api_client_for, make_principal

pytestmark = pytest.mark.django_db


def test_a_time_filter_with_an_offset_postgresql_refuses_is_compared_in_utc(owner):
    """``since=0266-12-07T19:51:57.0-17:06``: Python accepts a -17:06 offset, PostgreSQL does not (500)."""
    response = api_client_for(owner).get("/resources/audit/events", {"since": "2020-12-07T19:51:57.0-17:06"})
    assert response.status_code == 200


def test_a_time_filter_that_leaves_the_calendar_in_utc_is_a_400(owner):
    response = api_client_for(owner).get("/resources/audit/events", {"until": "0001-01-01T00:00:00+05:00"})
    assert response.status_code == 400 and "until" in response.json()["errors"]


def test_an_ibm_expiry_with_an_extreme_offset_is_stored_in_utc(owner):
    response = api_client_for(owner).post("/v1/apikeys", {"name": "k", "iam_id": owner.iam_id,
                                                          "expires_at": "2099-01-01T00:00:00-17:06"}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["expires_at"] == "2099-01-01T17:06:00Z"


def test_the_secrets_list_is_answered_as_the_document_says(owner):
    """GET …/secrets answers a plain array; the document said a paginated object (and offered filters)."""
    from drf_spectacular.generators import SchemaGenerator

    client = client_services.create_client(None, {"name": "app"})
    response = api_client_for(owner).get(f"/resources/iam/clients/{client.pk}/secrets")
    assert response.status_code == 200 and isinstance(response.json(), list)
    schema = SchemaGenerator().get_schema(request=None, public=True)
    operation = schema["paths"]["/resources/iam/clients/{id}/secrets/"]["get"]
    assert operation["responses"]["200"]["content"]["application/json"]["schema"]["type"] == "array"
    assert [p["name"] for p in operation.get("parameters", [])] == ["id"]


def test_the_audit_export_declares_the_media_types_it_answers(owner):
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    declared = schema["paths"]["/resources/audit/events/export/"]["get"]["responses"]["200"]["content"]
    for fmt in ("ndjson", "csv"):
        response = api_client_for(owner).get("/resources/audit/events/export", {"format": fmt})
        assert response["Content-Type"].split(";")[0] in declared


def test_resetting_ones_own_password_is_refused():
    """The fuzzer, as the owner, found its own id in /resources/me and reset its own password: the reset
    locked every later request out (must change password first). One's own password is changed."""
    principal = make_principal(permissions=["iam/principals:write"])
    response = api_client_for(principal).post(f"/resources/iam/principals/{principal.pk}/password/reset")
    assert response.status_code == 403
    principal.refresh_from_db()
    assert not principal.must_change_password
    other = make_principal()
    assert api_client_for(make_principal(roles=["system:owner"])).post(
        f"/resources/iam/principals/{other.pk}/password/reset").status_code == 202
