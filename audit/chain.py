"""The hash chain: canonical form of an event, appending under a lane lock, and verification.

The trail is split into ``AUDIT_CHAIN_LANES`` independent chains. A transaction appends to one
lane, holding that lane's head row locked until it commits, so the chain order is the commit
order and a rolled-back event never becomes anyone's predecessor. Concurrent transactions take
different lanes (``FOR UPDATE SKIP LOCKED``), so the trail never turns the platform's writes into
one queue. On SQLite, where writers are serialised by the database anyway, one lane is used.
"""

import hashlib
import json
import random
from dataclasses import dataclass
from datetime import timezone as dt_timezone

from django.db import connection

from iam_project.conf import iam_settings

from .models import GENESIS_HASH, AuditEvent, ChainHead

HASHED_FIELDS = (
    "uuid", "at", "actor", "actor_type", "action", "target_type", "target_id", "target_repr",
    "changes", "details", "request_id", "ip", "user_agent", "lane", "position",
)


def _canonical_value(name, value):
    if name == "uuid":
        return str(value)
    if name == "at":
        return value.astimezone(dt_timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return value


def canonical(event):
    """The bytes an event's hash covers: sorted-key, whitespace-free JSON of its recorded fields."""
    payload = {name: _canonical_value(name, getattr(event, name)) for name in HASHED_FIELDS}
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def compute_hash(prev_hash, event):
    return hashlib.sha256(prev_hash.encode() + canonical(event)).hexdigest()


def lane_count():
    return 1 if connection.vendor == "sqlite" else max(1, int(iam_settings.AUDIT_CHAIN_LANES))


def _ensure_lanes(count):
    ChainHead.objects.bulk_create([ChainHead(lane=n) for n in range(count)], ignore_conflicts=True)


def _lock_lane():
    """(lane, head hash, length) of the lane to append to, on databases that serialise writers
    themselves (SQLite's IMMEDIATE transactions): one lane, read in the writer's transaction."""
    count = lane_count()
    lane = getattr(connection, "_audit_lane", 0) % count
    for _ in range(2):
        row = ChainHead.objects.filter(lane=lane).values_list("lane", "hash", "length").first()
        if row is not None:
            connection._audit_lane = lane
            return row
        _ensure_lanes(count)
    raise RuntimeError("audit chain lanes are missing")


def append(event):
    """Chain and insert ``event`` (an unsaved AuditEvent) in the current transaction."""
    if connection.vendor == "postgresql":
        return _append_postgresql(event)
    lane, head, length = _lock_lane()
    event.lane, event.position, event.prev_hash = lane, length + 1, head
    event.hash = compute_hash(head, event)
    event.save(force_insert=True)
    ChainHead.objects.filter(lane=lane).update(hash=event.hash, length=event.position)
    return event


def _split_canonical(event):
    """The canonical JSON around the lane and position, which PostgreSQL fills in under the lock:
    keys sort as ... ip, lane, position, request_id ..., so the two halves are fixed beforehand."""
    payload = {name: _canonical_value(name, getattr(event, name)) for name in HASHED_FIELDS
               if name not in ("lane", "position")}
    before = {k: v for k, v in payload.items() if k < "lane"}
    after = {k: v for k, v in payload.items() if k > "position"}

    def dump(part):
        return json.dumps(part, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    return dump(before)[:-1] + ',"lane":', ',"position":', "," + dump(after)[1:]


_ARGUMENT_COLUMNS = ("uuid", "at", "actor", "actor_type", "action", "target_type", "target_id", "target_repr",
                     "changes", "details", "request_id", "ip", "user_agent")
_APPEND_CALL = f"SELECT * FROM audit_append({', '.join(['%s'] * (6 + len(_ARGUMENT_COLUMNS)))})"


def _append_postgresql(event):
    """One round trip to ``audit_append`` (audit/db.py): it locks a lane — the one this transaction
    already holds, else any free one — hashes from that head, inserts and moves the head. Only
    when every lane is busy does it wait, for one lane, holding none."""
    count = lane_count()
    preferred = getattr(connection, "_audit_lane", 0) % count
    pieces = _split_canonical(event)
    values = [getattr(event, name) for name in _ARGUMENT_COLUMNS]
    values[_ARGUMENT_COLUMNS.index("changes")] = json.dumps(event.changes)
    values[_ARGUMENT_COLUMNS.index("details")] = json.dumps(event.details)
    with connection.cursor() as cursor:
        for wait, lane in ((False, preferred), (True, random.randrange(count)), (True, 0)):
            cursor.execute(_APPEND_CALL, [count, lane, wait, *pieces, *values])
            row = cursor.fetchone()
            if row is not None:
                event.seq, event.lane, event.position, event.prev_hash, event.hash = row
                event._state.adding, event._state.db = False, connection.alias
                connection._audit_lane = event.lane
                return event
            if wait:
                _ensure_lanes(count)  # a fresh database: the lanes do not exist yet
    raise RuntimeError("audit chain lanes are missing")


@dataclass
class Break:
    seq: int | None
    lane: int
    position: int | None
    problem: str

    def __str__(self):
        where = f"event seq={self.seq}" if self.seq is not None else "end of chain"
        return f"lane {self.lane}, position {self.position}: {where}: {self.problem}"


def verify(progress=None):
    """Walk every lane in one consistent snapshot; return the breaks found, the earliest (by seq) first.

    The heads and the events are read in one transaction (REPEATABLE READ on PostgreSQL), so writes
    committed while it runs are not mistaken for events appended behind a head.

    Catches an edited event (its hash no longer matches its content), a removed one (a gap in the
    positions, or a successor whose prev_hash names something else), an inserted one (a position
    taken twice or out of order, or a prev_hash that does not link) and a truncated tail (the head
    row records a longer chain or another last hash).
    """
    from django.db import transaction

    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if connection.vendor == "postgresql" and outermost:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        return _verify(progress)


def _verify(progress):
    breaks = []
    heads = {h.lane: h for h in ChainHead.objects.all()}
    lanes = set(heads) | set(AuditEvent.objects.values_list("lane", flat=True).distinct().order_by())
    for lane in sorted(lanes):
        prev_hash, expected_position, found = GENESIS_HASH, 1, False
        events = (AuditEvent.objects.filter(lane=lane).order_by("position", "seq").iterator(chunk_size=2000))
        for event in events:
            if progress:
                progress(1)
            if found:
                continue  # report one break per lane: what follows it cannot link anyway
            if event.position != expected_position:
                problem = ("an event is missing before this one" if event.position > expected_position
                           else "an event was inserted here (position repeated)")
                breaks.append(Break(event.seq, lane, event.position, problem))
                found = True
            elif event.prev_hash != prev_hash:
                breaks.append(Break(event.seq, lane, event.position,
                                    "prev_hash does not match the previous event (removed or inserted event)"))
                found = True
            elif compute_hash(event.prev_hash, event) != event.hash:
                breaks.append(Break(event.seq, lane, event.position, "content does not match its hash (edited)"))
                found = True
            prev_hash, expected_position = event.hash, expected_position + 1
        head = heads.get(lane)
        length = expected_position - 1
        if found:
            continue
        if head is None:
            breaks.append(Break(None, lane, length, "events in a lane that has no head (inserted)"))
        elif head.length > length:
            breaks.append(Break(None, lane, length, f"the chain ends at position {length} but its head records "
                                                    f"{head.length} events (events removed from the end)"))
        elif head.length < length or head.hash != prev_hash:
            breaks.append(Break(None, lane, length, f"the chain runs past its head at position {head.length} "
                                                    "(events inserted at the end, or the head was changed)"))
    breaks.sort(key=lambda b: (b.seq is None, b.seq or 0))
    return breaks, {lane: heads[lane].hash for lane in sorted(heads)}
