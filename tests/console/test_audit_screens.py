"""The audit screens: filters by identity, family, target and time; diffs; export; a principal's history."""

import csv
import io
import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from audit.models import AuditEvent
from audit.services import record
from jit.models import AccessRequest
from roles.models import RoleBinding
from tests.conftest import make_principal, make_role

pytestmark = pytest.mark.django_db


def console(principal):
    client = Client()
    client.force_login(principal)
    return client


def rows(page):
    return page.content.decode().count('<td class="field-actor_name">')


def actions(page):
    import re

    return set(re.findall(r'<td class="field-action">([^<]*)</td>', page.content.decode()))


@pytest.fixture
def trail():
    ana = make_principal(email="ana@example.com", properties={"name": "Ana Lima"})
    bob = make_principal(email="bob@example.com")
    record("principal.updated", ana, actor=bob.iam_id, changes={"email": ["a@x.org", "ana@example.com"],
                                                                "tags": [["red", "blue"], ["blue", "green"]]})
    record("login.failed", target_type="principal", target_id="", target_repr="ana@example.com", actor="anonymous")
    record("token.issued", target_type="client", target_id="c-1", target_repr="shop", actor=ana.iam_id)
    record("role.created", target_type="role", target_id="r-1", target_repr="old:role", actor=bob.iam_id)
    return {"ana": ana, "bob": bob}


def test_filter_by_identity_name_or_email_family_target_and_time(trail):
    owner = make_principal(roles=["system:owner"])
    http = console(owner)
    base = "/admin/audit/auditevent/"
    everything = rows(http.get(base))
    # Events by Ana (token.issued) and about her (her creation, principal.updated), by name, not by id.
    by_ana = actions(http.get(base, {"identity": "ana@"}))
    assert {"token.issued", "principal.updated"} <= by_ana and not {"login.failed", "role.created"} & by_ana
    assert actions(http.get(base, {"identity": "Ana Lima"})) == by_ana
    assert 2 <= rows(http.get(base, {"identity": trail["bob"].email})) < everything
    assert rows(http.get(base, {"family": "token"})) == 1
    assert rows(http.get(base, {"target": "old:role"})) == 1
    tomorrow = (timezone.now() + timedelta(days=1)).date().isoformat()
    assert rows(http.get(base, {"since": tomorrow})) == 0
    assert rows(http.get(base, {"until": "2000-01-01"})) == 0
    assert rows(http.get(base, {"since": "2000-01-01", "until": tomorrow})) == everything
    assert http.get(base, {"since": "yesterday-ish"}).status_code == 302  # a bad filter, not a 500
    # The actor column names the identity and links it, the iam id on hover.
    assert f'title="{trail["bob"].iam_id}">bob@example.com</a>' in http.get(base).content.decode()


def test_change_page_shows_before_and_after(trail):
    owner = make_principal(roles=["system:owner"])
    event = AuditEvent.objects.get(action="principal.updated")
    text = console(owner).get(f"/admin/audit/auditevent/{event.pk}/change/").content.decode()
    assert '<table class="audit-diff">' in text
    assert "<del>&quot;a@x.org&quot;</del>" in text and "<ins>&quot;ana@example.com&quot;</ins>" in text
    assert "<del>[&quot;red&quot;]</del>" in text and "<ins>[&quot;green&quot;]</ins>" in text  # a list: removed / added


def test_export_of_the_filtered_view_is_audited_and_needs_read(trail):
    owner = make_principal(roles=["system:owner"])
    http = console(owner)
    response = http.get("/admin/audit/auditevent/export/csv/", {"family": "token"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(lines) == 2 and "token.issued" in lines[1]
    exported = AuditEvent.objects.filter(action="audit.exported").get()
    assert exported.actor == owner.iam_id and exported.details == {"format": "csv", "filters": {"family": "token"}}
    ndjson = http.get("/admin/audit/auditevent/export/ndjson/", {"identity": "ana@example.com"})
    events = [json.loads(line) for line in b"".join(ndjson.streaming_content).decode().splitlines()]
    assert {"principal.updated", "token.issued"} <= {e["action"] for e in events}
    assert not {"login.failed", "role.created"} & {e["action"] for e in events}
    assert http.get("/admin/audit/auditevent/export/xml/").status_code == 404
    reader = make_principal(roles=["system:portal:full"], permissions=["iam/principals:read"])
    assert console(reader).get("/admin/audit/auditevent/export/csv/").status_code == 403
    assert AuditEvent.objects.filter(action="audit.exported").count() == 2


def test_principal_history_lists_bindings_keys_grants_and_sign_ins(trail):
    ana = trail["ana"]
    owner = make_principal(roles=["system:owner"])
    role = make_role(["orders/items:delete"], key="shop:jit")
    RoleBinding.objects.create(principal=ana, role=make_role(["orders/items:read"], key="shop:clerk"),
                               created_by=owner.iam_id)
    AccessRequest.objects.create(principal=ana, requester_iam_id=ana.iam_id, role=role, status="active",
                                 duration=timedelta(minutes=90), expires_at=timezone.now() + timedelta(minutes=30),
                                 decided_by=owner.iam_id)
    record("login.succeeded", ana, actor=ana.iam_id)
    page = console(owner).get(f"/admin/history/principals/{ana.pk}/")
    assert page.status_code == 200
    text = page.content.decode()
    for section, expected in (("history-bindings", "shop:clerk"), ("history-grants", "1 h 30 min"),
                              ("history-keys", "No API keys."), ("history-signins", "login.succeeded"),
                              ("history-changes", "principal.updated")):
        assert expected in text.split(f'id="{section}"')[1].split("</table>")[0], section
    assert f'title="{owner.iam_id}">{owner.email}</a>' in text  # who granted, by name
    reader = make_principal(roles=["system:portal:full"], permissions=["iam/principals:read"])
    limited = console(reader).get(f"/admin/history/principals/{ana.pk}/").content.decode()
    assert 'id="history-signins"' not in limited and 'id="history-bindings"' not in limited
    stranger = make_principal(roles=["system:portal:full"])
    assert console(stranger).get(f"/admin/history/principals/{ana.pk}/").status_code == 403
