"""Helpers for the audit tests: the events written since a point, and a dump of the whole trail."""

import json

from audit.models import AuditEvent


def mark():
    """The last sequence number so far; pass it to ``events_since``."""
    last = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first()
    return last or 0


def events_since(seq, **filters):
    return list(AuditEvent.objects.filter(seq__gt=seq, **filters).order_by("seq"))


def dump_trail():
    """Every stored event, every column, as one text to search for secrets."""
    return "\n".join(json.dumps(row, default=str) for row in AuditEvent.objects.values())
