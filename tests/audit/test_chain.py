"""Append-only in the database, and a hash chain that audit_verify walks to find any tampering."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from audit import chain
from audit.db import install_triggers, remove_triggers
from audit.models import AuditEvent, ChainHead
from tests.conftest import make_principal

pytestmark = pytest.mark.django_db
TABLE = AuditEvent._meta.db_table


def make_trail(n=5):
    principal = make_principal(email="chain@example.com")
    for i in range(n - 1):
        principal.properties = {"n": i}
        principal.save()
    return list(AuditEvent.objects.order_by("seq"))


def verify_output():
    out, err = StringIO(), StringIO()
    try:
        call_command("audit_verify", "--no-progress", stdout=out, stderr=err)
        return 0, out.getvalue(), err.getvalue()
    except CommandError as exc:
        return exc.returncode, str(exc), err.getvalue()


def tamper(sql, params=()):
    """Change the trail behind the application's back: lift the trigger, run SQL, put it back."""
    remove_triggers(connection)
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
    finally:
        install_triggers(connection)


@pytest.mark.parametrize("sql", [f"UPDATE {TABLE} SET actor = 'mallory'", f"DELETE FROM {TABLE}"])
def test_database_refuses_update_and_delete(sql):
    make_trail(2)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(sql)
    assert AuditEvent.objects.count() == 2


def test_each_event_links_to_the_previous_one_of_its_lane():
    events = make_trail(4)
    lanes = {}
    for event in events:
        previous = lanes.get(event.lane)
        assert event.prev_hash == (previous.hash if previous else chain.GENESIS_HASH)
        assert event.position == (previous.position + 1 if previous else 1)
        assert event.hash == chain.compute_hash(event.prev_hash, event)
        lanes[event.lane] = event
    for lane, last in lanes.items():
        head = ChainHead.objects.get(lane=lane)
        assert (head.hash, head.length) == (last.hash, last.position)


def test_verify_passes_on_an_untouched_trail():
    make_trail(5)
    status, out, _ = verify_output()
    assert status == 0 and "OK: 5 events" in out and "head" in out


def test_verify_catches_an_edited_event():
    events = make_trail(5)
    tamper(f"UPDATE {TABLE} SET changes = %s WHERE seq = %s", ['{"email": ["a", "b"]}', events[2].seq])
    status, message, err = verify_output()
    assert status == 1
    assert f"seq={events[2].seq}" in message and "edited" in message


def test_verify_catches_a_deleted_event():
    events = make_trail(5)
    tamper(f"DELETE FROM {TABLE} WHERE seq = %s", [events[1].seq])
    status, message, _ = verify_output()
    assert status == 1 and f"seq={events[2].seq}" in message and "missing" in message


def test_verify_catches_a_deleted_last_event():
    events = make_trail(3)
    tamper(f"DELETE FROM {TABLE} WHERE seq = %s", [events[-1].seq])
    status, message, _ = verify_output()
    assert status == 1 and "removed from the end" in message


def test_verify_catches_an_inserted_event():
    events = make_trail(3)
    last = events[-1]
    forged = AuditEvent(at=last.at, actor="mallory", actor_type="principal", action="update",
                        target_type="principal", target_id=last.target_id, lane=last.lane,
                        position=last.position + 1, prev_hash=last.hash, hash="f" * 64)
    forged.save()  # an INSERT is allowed by the database, but the made-up hash gives it away
    status, message, _ = verify_output()
    assert status == 1 and f"seq={forged.seq}" in message and "edited" in message


def test_verify_catches_a_well_formed_event_appended_behind_the_head():
    events = make_trail(3)
    last = events[-1]
    forged = AuditEvent(at=last.at, actor="mallory", actor_type="principal", action="update",
                        target_type="principal", target_id=last.target_id, lane=last.lane,
                        position=last.position + 1, prev_hash=last.hash)
    forged.hash = chain.compute_hash(forged.prev_hash, forged)
    forged.save()
    status, message, _ = verify_output()
    assert status == 1 and "past its head" in message


def test_verify_catches_an_event_reattached_out_of_place():
    events = make_trail(4)
    # Swap two events' content by rewriting one in place of the other: the links no longer hold.
    tamper(f"UPDATE {TABLE} SET prev_hash = %s WHERE seq = %s", [events[0].hash, events[2].seq])
    status, message, _ = verify_output()
    assert status == 1 and f"seq={events[2].seq}" in message


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_flush_still_empties_every_table_including_the_trail():
    make_trail(2)
    call_command("flush", interactive=False, verbosity=0)
    assert AuditEvent.objects.count() == 0
    with pytest.raises(DatabaseError), transaction.atomic():
        with connection.cursor() as cursor:  # and the triggers are back
            make_trail(1)
            cursor.execute(f"DELETE FROM {TABLE}")


def test_an_event_costs_one_query_on_postgresql_and_three_on_sqlite(django_assert_num_queries):
    from audit import record

    record("warm.up", target_type="t", target_id="0")  # lanes exist; this connection has a lane
    expected = 1 if connection.vendor == "postgresql" else 3  # SQLite: read head, insert, move head
    with django_assert_num_queries(expected):
        record("probe", target_type="t", target_id="1")
