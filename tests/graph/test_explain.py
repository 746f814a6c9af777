"""On PostgreSQL the Graph query's page order is served by its keyset index (migration *_graph_keyset_index)."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from oauth2_provider.models import get_application_model

from roles import graph

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def plan(model, filters):
    kind = "principal" if model is get_user_model() else "client"
    created = "created_at" if kind == "principal" else "created"
    queryset = model.objects.filter(graph.where_for(kind, graph.parse_filters(filters))).order_by(created, "pk")[:51]
    with connection.cursor() as cursor:
        # Small test tables are cheaper to scan: ask whether the index *can* serve the page, not whether
        # the planner would choose it for ten rows.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
        return queryset.explain()


@pytest.mark.parametrize("filters", [[], [{"field": "properties.team", "op": "eq", "value": "ops"}],
                                     [{"field": "suspended", "op": "eq", "value": False}]])
def test_principal_pages_walk_the_keyset_index(filters):
    if connection.vendor != "postgresql":
        pytest.skip("the plan is PostgreSQL's")
    assert "principals_graph_created_id" in plan(get_user_model(), filters)


def test_client_pages_walk_the_keyset_index():
    if connection.vendor != "postgresql":
        pytest.skip("the plan is PostgreSQL's")
    assert "clients_graph_created_id" in plan(get_application_model(), [])
