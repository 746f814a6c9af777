"""Concurrent writers on PostgreSQL: each takes its own chain lane (no global queue) and the chain holds."""

import threading
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection, connections, transaction

from audit import chain
from audit.models import AuditEvent
from principals import services
from tests.conftest import make_principal

pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True), pytest.mark.postgres]
WRITERS = 8


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("lane locks and concurrent writers are exercised on PostgreSQL")


def _run(threads):
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)


def test_writers_holding_open_transactions_at_once_append_to_different_lanes():
    principals = [make_principal(email=f"w{i}@example.com") for i in range(WRITERS)]
    start = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first()
    all_hold_a_lane = threading.Barrier(WRITERS, timeout=10)
    errors = []

    def writer(principal):
        try:
            with transaction.atomic():
                services.update_principal(None, principal.pk, properties={"writer": principal.email})
                # Every writer now holds its lane's lock, uncommitted. Were the chain one queue,
                # the others would be blocked inside update_principal and the barrier would break.
                all_hold_a_lane.wait()
        except Exception as exc:  # noqa: BLE001 — reported below
            errors.append(repr(exc))
        finally:
            connections.close_all()

    _run([threading.Thread(target=writer, args=(p,)) for p in principals])
    assert errors == []
    events = AuditEvent.objects.filter(seq__gt=start, action="update")
    assert events.count() == WRITERS
    assert len(set(events.values_list("lane", flat=True))) == WRITERS
    breaks, _ = chain.verify()
    assert breaks == []


def test_many_parallel_writes_keep_every_chain_intact():
    principals = [make_principal(email=f"p{i}@example.com") for i in range(WRITERS)]
    errors = []

    def writer(principal):
        try:
            for n in range(15):
                services.update_principal(None, principal.pk, properties={"n": n})
        except Exception as exc:  # noqa: BLE001
            errors.append(repr(exc))
        finally:
            connections.close_all()

    _run([threading.Thread(target=writer, args=(p,)) for p in principals])
    assert errors == []
    assert AuditEvent.objects.filter(action="update").count() == WRITERS * 15
    call_command("audit_verify", "--no-progress", stdout=StringIO())
