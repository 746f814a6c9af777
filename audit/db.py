"""The database side of append-only: triggers that refuse UPDATE and DELETE on the events table."""

import contextlib

TABLE = "audit_auditevent"
MESSAGE = "audit events are append-only"

_SQL = {
    "postgresql": {
        "install": [
            f"""CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger AS $$
                BEGIN RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'insufficient_privilege'; END;
                $$ LANGUAGE plpgsql""",
            f"""CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON {TABLE}
                FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()""",
        ],
        "remove": [
            f"DROP TRIGGER IF EXISTS audit_event_append_only ON {TABLE}",
            "DROP FUNCTION IF EXISTS audit_event_append_only()",
        ],
    },
    "sqlite": {
        "install": [
            f"""CREATE TRIGGER IF NOT EXISTS audit_event_no_update BEFORE UPDATE ON {TABLE}
                BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""",
            f"""CREATE TRIGGER IF NOT EXISTS audit_event_no_delete BEFORE DELETE ON {TABLE}
                BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""",
        ],
        "remove": [
            "DROP TRIGGER IF EXISTS audit_event_no_update",
            "DROP TRIGGER IF EXISTS audit_event_no_delete",
        ],
    },
}


def _run(connection, kind):
    """``connection`` is a Django connection (a schema editor's ``.connection`` in migrations)."""
    statements = _SQL.get(connection.vendor, {}).get(kind, [])
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def install_triggers(connection):
    _run(connection, "install")


def remove_triggers(connection):
    _run(connection, "remove")


@contextlib.contextmanager
def triggers_lifted(connection):
    """For ``flush`` only (it wipes every table): SQLite flushes with DELETE, which the trigger refuses.

    PostgreSQL flushes with TRUNCATE, which row triggers do not see, so nothing is lifted there.
    """
    if connection.vendor != "sqlite":
        yield
        return
    remove_triggers(connection)
    try:
        yield
    finally:
        install_triggers(connection)
