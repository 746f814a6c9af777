"""Streaming export of events as NDJSON or CSV, shared by the API and ``manage.py audit_export``."""

import csv
import json

from .api.serializers import FIELDS, event_row

FORMATS = {"ndjson": "application/x-ndjson", "csv": "text/csv; charset=utf-8"}

# A spreadsheet would run a cell starting with one of these as a formula (CSV injection); the
# trail holds attacker-chosen text (a failed login's username), so such cells are quoted.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class _Line:
    def write(self, value):
        return value


def _cell(value):
    if isinstance(value, (dict, list)):
        value = json.dumps(value, sort_keys=True, ensure_ascii=False)
    if value is None:
        return ""
    value = str(value)
    return "'" + value if value.startswith(_FORMULA_START) else value


def stream(queryset, fmt, chunk_size=2000, progress=None):
    """Yield the export line by line, reading the events in chunks (never all in memory)."""
    events = queryset.order_by("seq").iterator(chunk_size=chunk_size)
    if fmt == "csv":
        writer = csv.writer(_Line())
        yield writer.writerow(FIELDS)
        for event in events:
            row = event_row(event)
            yield writer.writerow([_cell(row[name]) for name in FIELDS])
            if progress:
                progress(1)
    else:
        for event in events:
            yield json.dumps(event_row(event), ensure_ascii=False, separators=(",", ":")) + "\n"
            if progress:
                progress(1)
