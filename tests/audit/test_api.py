"""GET /resources/audit/events: permission, filters, newest first, cursor pages, one event, export."""

import csv
import io
import json

import pytest

from audit.models import AuditEvent
from tests.audit.helpers import mark
from tests.conftest import make_principal

pytestmark = pytest.mark.django_db
URL = "/resources/audit/events"


@pytest.fixture
def auditor(api_as):
    return api_as("audit/events:read")


def test_reading_the_trail_needs_the_permission(api_as):
    api = api_as("iam/principals:read")
    assert api.get(URL).status_code == 403
    assert api.get(f"{URL}/export").status_code == 403


def test_system_auditor_role_reads_the_trail():
    from tests.conftest import api_client_for

    auditor = make_principal(roles=["system:auditor"])
    api = api_client_for(auditor)
    assert api.get(URL).status_code == 200
    assert api.get("/resources/iam/principals").status_code == 200
    assert api.put("/resources/iam/roles/custom:x", {"description": "", "acl": {"entries": []}},
                   format="json").status_code == 403


def test_event_json_shape_and_newest_first(auditor):
    target = make_principal(email="a@example.com")
    target.properties = {"name": "A"}
    target.save()
    body = auditor.get(URL, {"targetId": str(target.pk)}).json()
    update, create = body["results"]
    assert update["seq"] > create["seq"]
    assert set(update) >= {"id", "seq", "at", "actor", "actorType", "action", "targetType", "targetId", "changes",
                           "requestId", "ip", "userAgent", "hash", "prevHash"}
    assert update["action"] == "update" and update["changes"] == {"properties": [{}, {"name": "A"}]}
    assert update["targetType"] == "principal" and update["actor"] == "system"
    one = auditor.get(f"{URL}/{update['id']}")
    assert one.status_code == 200 and one.json() == update


def test_unknown_event_is_404(auditor):
    assert auditor.get(f"{URL}/1c7ef5c6-0cf0-4a7e-8d3c-9fb0f1b7a5a1").status_code == 404
    assert auditor.get(f"{URL}/not-a-uuid").status_code == 404


def test_filters(auditor):
    first = make_principal(email="f@example.com")
    start = mark()
    second = make_principal(email="s@example.com")
    second.suspended = True
    second.save()
    events = AuditEvent.objects.filter(seq__gt=start).order_by("seq")
    since = events.first().at.isoformat()

    def ids(**params):
        return [e["targetId"] for e in auditor.get(URL, params).json()["results"] if e["targetType"] == "principal"]

    assert set(ids(targetType="principal", since=since)) == {str(second.pk)}
    assert ids(targetId=str(first.pk)) == [str(first.pk)]
    assert ids(action="update", targetType="principal") == [str(second.pk)]
    assert str(first.pk) in ids(until=since, targetType="principal")
    assert str(second.pk) not in ids(until=since, targetType="principal")
    assert auditor.get(URL, {"action": "access.*"}).json()["results"] == []
    assert {e["actor"] for e in auditor.get(URL, {"actor": "system"}).json()["results"]} == {"system"}


def test_request_id_filter_groups_one_request(api_as, auditor):
    api = api_as("iam/principals:write")
    target = make_principal()
    api.patch(f"/resources/iam/principals/{target.pk}", {"properties": {"x": 1}}, format="json",
              HTTP_X_REQUEST_ID="group-42")
    results = auditor.get(URL, {"requestId": "group-42"}).json()["results"]
    assert [(e["action"], e["targetId"]) for e in results] == [("update", str(target.pk))]


def test_bad_filter_values_are_400_naming_the_field(auditor):
    response = auditor.get(URL, {"since": "yesterday"})
    assert response.status_code == 400 and "since" in response.json()["errors"]
    response = auditor.get(f"{URL}/export", {"format": "xml"})
    assert response.status_code == 400 and "format" in response.json()["errors"]


def test_cursor_pagination_walks_every_event_once(auditor):
    for i in range(7):
        make_principal(email=f"p{i}@example.com")
    seen, url = [], URL + "?limit=3&targetType=principal"
    while url:
        body = auditor.get(url).json()
        seen += [e["seq"] for e in body["results"]]
        url = body["next"]
    # + the auditor's own creation and its sign-in
    assert seen == sorted(seen, reverse=True) and len(seen) == len(set(seen)) == 7 + 2


def test_export_ndjson_streams_the_filtered_events_oldest_first(auditor):
    target = make_principal(email="x@example.com")
    target.properties = {"k": "v"}
    target.save()
    response = auditor.get(f"{URL}/export", {"format": "ndjson", "targetId": str(target.pk)})
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"] == "application/x-ndjson"
    rows = [json.loads(line) for line in b"".join(response.streaming_content).decode().splitlines()]
    assert [r["action"] for r in rows] == ["create", "update"]
    assert rows[1]["changes"] == {"properties": [{}, {"k": "v"}]}


def test_export_csv_with_formula_cells_defused(auditor):
    from django.test import Client

    from tests.conftest import make_principal

    # An email may begin with "=": a spreadsheet must not take the cell for a formula.
    make_principal(email="=hyperlink@example.com")
    Client().post("/admin/login/", {"username": "=hyperlink@example.com", "password": "x"})
    response = auditor.get(f"{URL}/export", {"format": "csv", "action": "login.failed"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(rows) == 1 and rows[0]["targetName"].startswith("'=hyperlink")
    assert json.loads(rows[0]["details"].lstrip("'"))["username"].startswith("=hyperlink")
