"""The principal and client lists use an index for every filter and for deep cursor pages (PostgreSQL):
the query the API actually sends is EXPLAINed on a directory of a few thousand rows, and no plan may read
the principals' or clients' table through a sequential scan. Skipped on SQLite."""

import json
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from clients.models import Client
from principals.models import Principal
from roles.models import RoleBinding
from tests.conftest import api_client_for, make_principal, make_role

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]
ROWS = 4000


@pytest.fixture
def directory(db):
    if connection.vendor != "postgresql":
        pytest.skip("query plans are PostgreSQL's")
    principals = []
    for index in range(ROWS):
        pk = uuid.uuid4()
        principals.append(Principal(id=pk, iam_id=f"{Principal.iam_id_prefix}{pk}", email=f"user{index:05d}@example.com",
                                    properties={"team": f"team{index % 200}", "n": index}, password="!"))
    Principal.objects.bulk_create(principals)
    role = make_role(["orders/items:read"], key="shop:clerk")
    RoleBinding.objects.bulk_create([RoleBinding(principal=p, role=role) for p in principals[:20]])
    clients = []
    for index in range(ROWS):
        pk = uuid.uuid4()
        clients.append(Client(id=pk, client_id=str(pk), iam_id=f"{Client.iam_id_prefix}{pk}", name=f"job {index:05d}",
                              client_type="confidential", properties={"team": f"team{index % 200}"}))
    Client.objects.bulk_create(clients)
    with connection.cursor() as cursor:
        # What autovacuum does in production: fold the GIN indexes' pending lists in (a test's transaction
        # never lets it), then the statistics.
        for index in ("principal_email_trgm_idx", "principal_properties_gin_idx", "client_name_trgm_idx",
                      "client_properties_gin_idx"):
            cursor.execute("SELECT gin_clean_pending_list(to_regclass(%s)) WHERE to_regclass(%s) IS NOT NULL",
                           [index, index])
        cursor.execute("ANALYZE principals_principal; ANALYZE clients_client; ANALYZE roles_rolebinding; "
                       "ANALYZE roles_role")
    return api_client_for(make_principal(permissions=["iam/principals:read", "iam/clients:read"]))


def plan_of(api, path, table):
    """The plan of the SELECT the request ``path`` makes on ``table`` for the page itself."""
    with CaptureQueriesContext(connection) as queries:
        response = api.get(path)
    assert response.status_code == 200, response.content
    selects = [q["sql"] for q in queries if q["sql"].startswith("SELECT") and f'FROM "{table}"' in q["sql"]
               and "ORDER BY" in q["sql"] and " LIMIT " in q["sql"] and "LIMIT 21" not in q["sql"]]
    assert selects, [q["sql"] for q in queries]
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + selects[0])
        plan = cursor.fetchone()[0]
    return response, plan if not isinstance(plan, str) else json.loads(plan)


def nodes(plan):
    for node in plan if isinstance(plan, list) else [plan]:
        node = node.get("Plan", node)
        yield node
        for child in node.get("Plans", []):
            yield from nodes(child)


def assert_indexed(plan, table, index=None):
    """No sequential scan of ``table`` anywhere in the plan, and ``index`` (when named) used."""
    scans = [n for n in nodes(plan) if n["Node Type"] == "Seq Scan" and n.get("Relation Name") == table]
    assert not scans, json.dumps(plan)
    if index:
        assert index in {n.get("Index Name") for n in nodes(plan)}, json.dumps(plan)


PRINCIPALS = "principals_principal"
CLIENTS = "clients_client"


def test_the_first_page_of_principals_is_read_in_email_order_from_the_index(directory):
    _, plan = plan_of(directory, "/resources/iam/principals", PRINCIPALS)
    assert_indexed(plan, PRINCIPALS, "principals_principal_email_key")


def test_a_deep_cursor_page_of_principals_uses_the_index(directory):
    response = directory.get("/resources/iam/principals?limit=500")
    for _ in range(4):
        response = directory.get(response.json()["next"])
    _, plan = plan_of(directory, response.json()["next"], PRINCIPALS)
    assert_indexed(plan, PRINCIPALS, "principals_principal_email_key")


def test_the_email_filter_uses_the_case_insensitive_index(directory):
    response, plan = plan_of(directory, "/resources/iam/principals?email=USER03999@Example.com", PRINCIPALS)
    assert [p["email"] for p in response.json()["results"]] == ["user03999@example.com"]
    assert_indexed(plan, PRINCIPALS, "principal_email_upper_idx")


def test_the_email_contains_filter_uses_the_trigram_index(directory):
    response, plan = plan_of(directory, "/resources/iam/principals?emailContains=ER0399", PRINCIPALS)
    assert len(response.json()["results"]) == 10
    assert_indexed(plan, PRINCIPALS, "principal_email_trgm_idx")


def test_the_role_prefix_filter_starts_from_the_bindings(directory):
    response, plan = plan_of(directory, "/resources/iam/principals?rolePrefix=shop:", PRINCIPALS)
    assert len(response.json()["results"]) == 20
    assert_indexed(plan, PRINCIPALS)


def test_a_widely_held_role_prefix_is_read_in_email_order_and_stops_at_the_page(directory, settings):
    """Many holders (more than the bound): principals are read in email order from the index and each is
    checked, instead of gathering every holder's binding and sorting them all (what grew at 1M)."""
    settings.IAM_ROLE_PREFIX_BINDINGS_FIRST_MAX = 10
    response, plan = plan_of(directory, "/resources/iam/principals?rolePrefix=shop:", PRINCIPALS)
    assert len(response.json()["results"]) == 20
    assert_indexed(plan, PRINCIPALS, "principals_principal_email_key")
    assert not [n for n in nodes(plan) if n["Node Type"] in ("Sort", "Hash", "HashAggregate")], json.dumps(plan)


def test_both_role_prefix_plans_find_the_same_principals(directory, settings):
    from datetime import timedelta

    from django.utils import timezone

    later = make_role(["orders/items:write"], key="shop:later")
    gone = make_role(["orders/items:write"], key="shop:gone")
    people = list(Principal.objects.order_by("email")[100:103])
    RoleBinding.objects.create(principal=people[0], role=later, starts_at=timezone.now() + timedelta(days=1))
    RoleBinding.objects.create(principal=people[1], role=gone, expires_at=timezone.now() - timedelta(days=1))
    RoleBinding.objects.create(principal=people[2], role=later)

    def emails(path):
        found, response = [], directory.get(path)
        while True:
            found += [p["email"] for p in response.json()["results"]]
            if not response.json()["next"]:
                return found
            response = directory.get(response.json()["next"])

    few = emails("/resources/iam/principals?rolePrefix=shop:&limit=7")
    settings.IAM_ROLE_PREFIX_BINDINGS_FIRST_MAX = 5
    many = emails("/resources/iam/principals?rolePrefix=shop:&limit=7")
    assert few == many and len(few) == 21 and people[2].email in few
    assert people[0].email not in few and people[1].email not in few


def test_a_properties_lookup_uses_the_json_index(directory):
    queryset = Principal.objects.filter(properties__contains={"team": "team7"}).order_by("email")[:50]
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + str(queryset.query.sql_with_params()[0]),
                       queryset.query.sql_with_params()[1])
        plan = cursor.fetchone()[0]
    assert queryset.count() == 20
    assert_indexed(plan, PRINCIPALS, "principal_properties_gin_idx")


def test_the_clients_list_and_its_name_filters_use_indexes(directory):
    _, plan = plan_of(directory, "/resources/iam/clients", CLIENTS)
    assert_indexed(plan, CLIENTS, "client_name_id_idx")
    response, plan = plan_of(directory, "/resources/iam/clients?name=JOB 00042", CLIENTS)
    assert [c["properties"]["name"] for c in response.json()["results"]] == ["job 00042"]
    assert_indexed(plan, CLIENTS, "client_name_upper_idx")
    _, plan = plan_of(directory, "/resources/iam/clients?nameContains=ob 0004", CLIENTS)
    assert_indexed(plan, CLIENTS, "client_name_trgm_idx")


def test_hot_queries_are_prepared_once_per_connection(db, settings):
    """On PostgreSQL the platform binds parameters on the server and psycopg prepares a statement its
    connection has run twice: from the third token request on, the secret lookup of the database path (taken
    whenever the secret is not in the cache) is not planned again."""
    if connection.vendor != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's")
    settings.IAM_AUTH_CACHE = {**settings.IAM_AUTH_CACHE, "ENABLED": False}  # every request its database path
    from django.test import Client as HttpClient

    from clients import services as client_services

    assert connection.settings_dict["OPTIONS"].get("server_side_binding") is True
    client = client_services.create_client(None, {"name": "prepared", "grantTypes": ["client_credentials"],
                                                  "scopes": ["iam/principals:read"]})
    _, secret = client_services.create_secret(None, client.pk)
    for _ in range(3):
        answer = HttpClient().post("/oauth/token/", {"grant_type": "client_credentials",
                                                     "client_id": client.client_id, "client_secret": secret})
        assert answer.status_code == 200
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    assert any('FROM "clients_clientsecret"' in statement for statement in prepared), prepared
