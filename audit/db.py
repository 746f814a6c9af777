"""The database side of append-only: triggers that refuse UPDATE and DELETE on the events table."""

import contextlib

TABLE = "audit_auditevent"
HEADS = "audit_chainhead"
MESSAGE = "audit events are append-only"

# PostgreSQL appends an event in one call (one round trip, plans cached for the session): lock a
# lane head, hash the canonical JSON with the head's hash in front, insert, move the head. The
# canonical JSON comes in three pieces from Python (chain._split_canonical) because the lane and
# position are known only under the lock. Change it with the columns, in a migration.
APPEND_FUNCTION = f"""
CREATE OR REPLACE FUNCTION audit_append(
    lane_count integer, preferred integer, wait_for_lane boolean,
    head_part text, middle_part text, tail_part text,
    p_uuid uuid, p_at timestamptz, p_actor text, p_actor_type text, p_action text, p_target_type text,
    p_target_id text, p_target_repr text, p_changes jsonb, p_details jsonb, p_request_id text,
    p_ip text, p_user_agent text
) RETURNS TABLE (seq bigint, lane smallint, "position" bigint, prev_hash text, hash text)
LANGUAGE plpgsql AS $$
DECLARE
    head RECORD;
    new_hash text;
    new_seq bigint;
BEGIN
    IF wait_for_lane THEN
        SELECT h.lane, h.hash, h.length INTO head FROM {HEADS} h WHERE h.lane = preferred FOR UPDATE;
    ELSE
        SELECT h.lane, h.hash, h.length INTO head FROM {HEADS} h WHERE h.lane < lane_count
            ORDER BY (h.lane = preferred) DESC, random() LIMIT 1 FOR UPDATE SKIP LOCKED;
    END IF;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    new_hash := encode(sha256(convert_to(
        head.hash || head_part || head.lane::text || middle_part || (head.length + 1)::text || tail_part,
        'UTF8')), 'hex');
    INSERT INTO {TABLE} (uuid, at, actor, actor_type, action, target_type, target_id, target_repr, changes,
                         details, request_id, ip, user_agent, lane, position, prev_hash, hash)
    VALUES (p_uuid, p_at, p_actor, p_actor_type, p_action, p_target_type, p_target_id, p_target_repr,
            p_changes, p_details, p_request_id, p_ip, p_user_agent, head.lane, head.length + 1, head.hash,
            new_hash)
    RETURNING {TABLE}.seq INTO new_seq;
    UPDATE {HEADS} SET hash = new_hash, length = head.length + 1 WHERE {HEADS}.lane = head.lane;
    RETURN QUERY SELECT new_seq, head.lane::smallint, head.length + 1, head.hash::text, new_hash;
END;
$$"""

_SQL = {
    "postgresql": {
        "install": [
            f"""CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger AS $$
                BEGIN RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'insufficient_privilege'; END;
                $$ LANGUAGE plpgsql""",
            f"""CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON {TABLE}
                FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()""",
        ],
        "install_append": [APPEND_FUNCTION],
        "remove_append": ["DROP FUNCTION IF EXISTS audit_append"],
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


def install_append_function(connection):
    _run(connection, "install_append")


def remove_append_function(connection):
    _run(connection, "remove_append")


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
