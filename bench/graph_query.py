"""Benchmark: the Graph query's cost per page as identities grow, for each filter shape.

Run by hand (not in CI), against PostgreSQL:
    DATABASE_URL=postgres://... .venv/bin/python bench/graph_query.py [--principals 50000] [--rounds 15]
Fills a throw-away database (<name>_bench_graph) with principals (emails, properties, 1 % holding
system:portal:full), then times roles.graph.query — first page and a page reached through 20 cursors —
for each filter shape, and prints the median and the plan's top line (whether an index serves it).
"""

import argparse
import os
import statistics
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "iam_project.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment, teardown_test_environment  # noqa: E402

SHAPES = {
    "roles contains": [{"field": "roles", "op": "contains", "value": "system:portal:full"}],
    "email eq": [{"field": "email", "op": "eq", "value": "person12345@example.com"}],
    "email startsWith": [{"field": "email", "op": "startsWith", "value": "person1234"}],
    "properties.team eq": [{"field": "properties.team", "op": "eq", "value": "team-7"}],
    "suspended eq": [{"field": "suspended", "op": "eq", "value": True}],
    "no filter": [],
}


def fill(count):
    from django.contrib.auth import get_user_model

    from roles.models import Role, RoleBinding

    Principal = get_user_model()
    portal = Role.objects.get(key="system:portal:full")
    batch = []
    for n in range(count):
        pk = uuid.uuid4()
        batch.append(Principal(id=pk, iam_id=f"iam-Principal-{pk}", email=f"person{n}@example.com", password="!",
                               properties={"team": f"team-{n % 50}", "n": n}, suspended=(n % 997 == 0)))
        if len(batch) == 5000:
            Principal.objects.bulk_create(batch)
            batch = []
    Principal.objects.bulk_create(batch)
    holders = Principal.objects.order_by("?").values_list("pk", flat=True)[: max(1, count // 100)]
    RoleBinding.objects.bulk_create([RoleBinding(principal_id=pk, role=portal) for pk in holders])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def timed(filters, rounds, depth):
    from roles import graph

    parsed = graph.parse_filters(filters)
    fingerprint = graph.query_fingerprint("identity", parsed)
    first, deep = [], []
    for _ in range(rounds):
        started = time.perf_counter()
        page, cursor = graph.query(parsed, ("principal",), limit=50, fingerprint=fingerprint)
        first.append(time.perf_counter() - started)
        for _ in range(depth):
            if cursor is None:
                break
            started = time.perf_counter()
            page, cursor = graph.query(parsed, ("principal",), limit=50, cursor=cursor, fingerprint=fingerprint)
        deep.append(time.perf_counter() - started)
    return statistics.median(first) * 1000, statistics.median(deep) * 1000


def plan(filters):
    from django.contrib.auth import get_user_model

    from roles import graph

    where = graph.where_for("principal", graph.parse_filters(filters))
    queryset = get_user_model().objects.filter(where).order_by("created_at", "pk")[:51]
    return queryset.explain().splitlines()[0:3]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--principals", type=int, default=50000)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    connection.settings_dict["TEST"]["NAME"] = connection.settings_dict["NAME"] + "_bench_graph"
    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0)
    try:
        started = time.perf_counter()
        fill(args.principals)
        print(f"{args.principals} principals in {time.perf_counter() - started:.1f}s ({connection.vendor})")
        for name, filters in SHAPES.items():
            first, deep = timed(filters, args.rounds, 20)
            print(f"{name:22} first page {first:7.2f} ms   21st page {deep:7.2f} ms")
            for line in plan(filters):
                print(f"{'':24}{line.strip()[:110]}")
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()


if __name__ == "__main__":
    main()
