"""The console's identity search runs the Graph query for filter terms."""

import pytest
from django.test import Client

from roles.models import Role, RoleBinding
from tests.conftest import make_principal
from tests.factories import ClientFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def console():
    client = Client()
    client.force_login(make_principal(email="owner@admin.test", roles=["system:owner"]))
    return client


def rows(page):
    assert page.status_code == 200
    return page.context["cl"].result_list


def test_principal_search_by_role_and_property(console):
    portal = Role.objects.get(key="system:portal:full")
    ana = make_principal(email="ana@example.com", properties={"team": "ops"})
    RoleBinding.objects.create(principal=ana, role=portal)
    make_principal(email="bob@example.com", properties={"team": "ops"})
    found = rows(console.get("/admin/principals/principal/", {"q": "roles=system:portal:full properties.team=ops"}))
    assert [p.email for p in found] == ["ana@example.com"]
    assert [p.email for p in rows(console.get("/admin/principals/principal/", {"q": "email^=bo"}))] == [
        "bob@example.com"]
    # A plain term is the screen's ordinary search.
    assert [p.email for p in rows(console.get("/admin/principals/principal/", {"q": "ana"}))] == ["ana@example.com"]


def test_client_search_and_a_bad_filter_is_a_message(console):
    ClientFactory(name="billing", properties={"tier": 2})
    ClientFactory(name="reports", properties={"tier": 1})
    assert [c.name for c in rows(console.get("/admin/clients/client/", {"q": "properties.tier>1"}))] == ["billing"]
    page = console.get("/admin/clients/client/", {"q": "colour=blue"})
    assert list(rows(page)) == [] and "Search not understood: colour" in page.content.decode()
