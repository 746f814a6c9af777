"""The Graph query over identities (principals and clients): filters compiled to index-friendly SQL, cursor pages.

Fields: ``roles``, ``email``, ``properties.<key>``, ``suspended``, ``type``, ``createdAt``; operators
``eq``, ``neq``, ``contains``, ``startsWith``, ``in``, ``gt``, ``lt``. Each filter becomes a WHERE
clause an ordinary index can serve: ``email`` is stored lower-cased, so equality and prefix compare the
column itself (btree; ``varchar_pattern_ops`` for the prefix); ``properties.<key> eq`` is a JSON
containment (``@>``, a GIN index on PostgreSQL); ``roles`` is an EXISTS over the bindings' (role,
identity) index. Pages are keyset pages over (created, id) — each page costs the same however deep —
with a signed cursor bound to the query, so a cursor cannot be forged nor replayed on another query.
Lives in roles, below both identity apps, reaching principals and clients through Django's swappable
getters only — so that the principals' and the clients' console searches can use it too.
"""

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth import get_user_model
from django.core import signing
from django.db import connection
from django.db.models import Exists, OuterRef, Prefetch, Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from oauth2_provider.models import get_application_model

from .models import RoleBinding

OPERATORS = ("eq", "neq", "contains", "startsWith", "in", "gt", "lt")
FIELD_OPERATORS = {
    "roles": {"contains", "neq", "startsWith", "in"},
    "email": {"eq", "neq", "contains", "startsWith", "in"},
    "properties": set(OPERATORS),
    "suspended": {"eq", "neq"},
    "type": {"eq", "neq", "in"},
    "createdAt": {"eq", "neq", "gt", "lt"},
}
TYPES = ("principal", "client")
PROPERTY_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")  # never '__': a key must not become a lookup path
MAX_IN = 100
_CURSOR_SALT = "roles.graph.cursor"


class QueryError(ValueError):
    """Bad input; ``errors`` maps the field at fault (e.g. 'filters[0].op') to messages."""

    def __init__(self, errors):
        super().__init__(errors)
        self.errors = errors


@dataclass(frozen=True)
class Filter:
    field: str
    op: str
    value: object
    key: str | None = None  # the property key, for properties.<key>


def _fail(index, name, message):
    raise QueryError({f"filters[{index}].{name}": [message]})


def _string(index, value, allow_empty=False):
    if not isinstance(value, str) or len(value) > 254 or (not value and not allow_empty) or "\x00" in value:
        _fail(index, "value", "Must be a non-empty string of at most 254 characters.")
    return value


def _values(index, value, each):
    if not isinstance(value, list) or not value or len(value) > MAX_IN:
        _fail(index, "value", f"'in' takes a non-empty list of at most {MAX_IN} values.")
    return [each(item) for item in value]


def _scalar(index, value):
    if value is None or isinstance(value, (bool, int, float, str)):
        if isinstance(value, str):
            _string(index, value, allow_empty=True)
        if isinstance(value, float) and value != value:
            _fail(index, "value", "Must be a number, a string, true, false or null.")
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**53:
            _fail(index, "value", "Numbers must lie within ±2^53.")
        return value
    _fail(index, "value", "Must be a number, a string, true, false or null.")


def _moment(index, value):
    parsed = parse_datetime(value) if isinstance(value, str) and len(value) <= 64 else None
    if parsed is None:
        try:
            parsed = datetime.fromisoformat(value) if isinstance(value, str) and len(value) <= 64 else None
        except ValueError:
            parsed = None
    if parsed is None:
        _fail(index, "value", "Must be an ISO 8601 date-time.")
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed, timezone.utc)


def parse_filters(raw):
    """The request's filters -> [Filter]; QueryError naming the field at fault."""
    if not isinstance(raw, list):
        raise QueryError({"filters": ["Must be a list."]})
    if len(raw) > 20:
        raise QueryError({"filters": ["At most 20 filters."]})
    parsed = []
    for index, item in enumerate(raw):
        if not isinstance(item, dict):
            raise QueryError({f"filters[{index}]": ["Must be an object with field, op and value."]})
        unknown = sorted(set(item) - {"field", "op", "value"})
        if unknown:
            raise QueryError({f"filters[{index}].{name}": ["Unknown field."] for name in unknown})
        for name in ("field", "op", "value"):
            if name not in item:
                _fail(index, name, "This field is required.")
        field, op, value = item["field"], item["op"], item["value"]
        key = None
        if not isinstance(field, str):
            _fail(index, "field", "Must be a string.")
        if field.startswith("properties."):
            key = field[len("properties."):]
            if not PROPERTY_KEY.match(key) or "__" in key:
                _fail(index, "field", "A property key is a letter then letters, digits, '-' or '_' (at most 64).")
            field = "properties"
        if field not in FIELD_OPERATORS:
            _fail(index, "field", f"Unknown field; one of {', '.join(sorted(FIELD_OPERATORS))} or properties.<key>.")
        if op not in OPERATORS:
            _fail(index, "op", f"Unknown operator; one of {', '.join(OPERATORS)}.")
        if op not in FIELD_OPERATORS[field]:
            _fail(index, "op", f"{field} does not take {op}; it takes {', '.join(sorted(FIELD_OPERATORS[field]))}.")
        parsed.append(Filter(field, op, _value(index, field, op, value), key))
    return parsed


def _value(index, field, op, value):
    if field == "suspended":
        if not isinstance(value, bool):
            _fail(index, "value", "Must be true or false.")
        return value
    if field == "type":
        check = lambda v: v if v in TYPES else _fail(index, "value", "Must be 'principal' or 'client'.")  # noqa: E731
        return _values(index, value, check) if op == "in" else check(value)
    if field == "createdAt":
        return _moment(index, value)
    if field == "properties":
        if op == "in":
            return _values(index, value, lambda v: _scalar(index, v))
        if op in ("contains", "startsWith"):
            return _string(index, value)
        if op in ("gt", "lt"):
            if isinstance(value, bool) or not isinstance(value, (int, float, str)):
                _fail(index, "value", "gt and lt compare with a number or a string.")
            return _scalar(index, value)
        return _scalar(index, value)
    # roles, email: strings
    fold = str.lower if field == "email" else str  # emails are stored lower-cased
    if op == "in":
        return _values(index, value, lambda v: fold(_string(index, v)))
    return fold(_string(index, value))


def _types(filters):
    """Which identity types the type filters leave."""
    kept = set(TYPES)
    for f in filters:
        if f.field != "type":
            continue
        if f.op == "eq":
            kept &= {f.value}
        elif f.op == "neq":
            kept -= {f.value}
        else:
            kept &= set(f.value)
    return kept


def _holds(kind, condition):
    now = timezone.now()
    bindings = RoleBinding.objects.filter(**{kind: OuterRef("pk")}).filter(condition).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=now)).filter(Q(starts_at__isnull=True) | Q(starts_at__lte=now))
    return Exists(bindings)


def _property_q(f):
    path = f"properties__{f.key}"
    if f.op == "eq":
        if connection.vendor == "postgresql" and f.value is not None:
            return Q(properties__contains={f.key: f.value})  # @>: served by a GIN index on properties
        return Q(**{path: f.value})
    if f.op == "neq":
        return ~Q(**{path: f.value}) | ~Q(properties__has_key=f.key)
    if f.op == "contains":
        return Q(**{f"{path}__icontains": f.value})
    if f.op == "startsWith":
        return Q(**{f"{path}__startswith": f.value})
    if f.op == "in":
        return Q(**{f"{path}__in": f.value})
    return Q(**{f"{path}__{f.op}": f.value})


def _condition(kind, created, f):
    """The Q of one filter for one identity type; None: no identity of this type can match."""
    if f.field == "type":
        return Q()
    if f.field == "suspended":
        return Q(suspended=f.value) if f.op == "eq" else ~Q(suspended=f.value)
    if f.field == "createdAt":
        lookup = {"eq": "", "neq": "", "gt": "__gt", "lt": "__lt"}[f.op]
        q = Q(**{f"{created}{lookup}": f.value})
        return ~q if f.op == "neq" else q
    if f.field == "properties":
        return _property_q(f)
    if f.field == "email":
        if kind != "principal":
            return None  # clients have no email
        if f.op == "in":
            return Q(email__in=f.value)
        return {"eq": Q(email=f.value), "neq": ~Q(email=f.value), "contains": Q(email__contains=f.value),
                "startsWith": Q(email__startswith=f.value)}[f.op]
    # roles
    if f.op == "contains":
        return Q(_holds(kind, Q(role__key=f.value)))
    if f.op == "neq":
        return ~Q(_holds(kind, Q(role__key=f.value)))
    if f.op == "startsWith":
        return Q(_holds(kind, Q(role__key__startswith=f.value)))
    return Q(_holds(kind, Q(role__key__in=f.value)))


def where_for(kind, filters):
    """The Q selecting identities of ``kind`` ('principal' or 'client') that match every filter; None
    when none can (a type filter excludes the kind, or an email filter on clients)."""
    if kind not in _types(filters):
        return None
    where = Q()
    for f in filters:
        condition = _condition(kind, "created_at" if kind == "principal" else "created", f)
        if condition is None:
            return None
        where &= condition
    return where


def query_fingerprint(resource, filters):
    raw = json.dumps([resource, [(f.field, f.key, f.op, str(f.value)) for f in filters]], sort_keys=True)
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def make_cursor(fingerprint, created, pk):
    return signing.dumps({"q": fingerprint, "t": created.isoformat(), "id": str(pk)}, salt=_CURSOR_SALT)


def read_cursor(fingerprint, cursor):
    try:
        data = signing.loads(cursor, salt=_CURSOR_SALT)
        if data["q"] != fingerprint:
            raise ValueError
        return datetime.fromisoformat(data["t"]), data["id"]
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise QueryError({"cursor": ["Not a cursor of this query."]}) from None


def query(filters, types, limit=50, cursor=None, fingerprint=""):
    """One page of identities matching every filter, of the ``types`` given (the caller leaves out
    the types the asker may not read), ordered by creation then id. Returns (identities, next cursor
    or None). Read-only: one query per identity type plus one for each type's current bindings."""
    position = read_cursor(fingerprint, cursor) if cursor else None
    rows = []
    for kind in sorted(_types(filters) & set(types)):
        model = get_user_model() if kind == "principal" else get_application_model()
        created = "created_at" if kind == "principal" else "created"
        where = where_for(kind, filters)
        if where is not None:
            queryset = model.objects.filter(where)
            if position is not None:
                at, pk = position
                queryset = queryset.filter(Q(**{f"{created}__gt": at}) | Q(**{created: at, "pk__gt": pk}))
            current = RoleBinding.objects.current().select_related("role").only("id", "principal_id", "client_id",
                                                                                  "role__key")
            queryset = queryset.order_by(created, "pk").prefetch_related(
                Prefetch("bindings", queryset=current, to_attr="current_bindings"))[:limit + 1]
            rows.extend((getattr(obj, created), str(obj.pk), obj) for obj in queryset)
    rows.sort(key=lambda row: (row[0], row[1]))
    page = rows[:limit]
    next_cursor = None
    if len(rows) > limit:
        last = page[-1]
        next_cursor = make_cursor(fingerprint, last[0], last[1])
    return [obj for _, _, obj in page], next_cursor
