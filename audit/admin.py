"""The console's audit screen: read-only, filterable; every object's "History" button lands here."""

import json

from django.contrib import admin
from django.utils.html import format_html

from iam_project.console import ReadOnlyAdminMixin

from .models import AuditEvent, ChainHead


class ReadOnlyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Nothing in the trail can be added, changed or deleted from the console; no actions either."""

    def get_actions(self, request):
        return {}


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ("seq", "at", "actor", "action", "target_type", "target_repr", "target_id", "ip", "request_id")
    list_filter = ("action", "target_type", "actor_type", ("at", admin.DateFieldListFilter))
    search_fields = ("=actor", "=target_id", "=request_id", "target_repr", "=uuid")
    date_hierarchy = "at"
    ordering = ("-seq",)
    list_per_page = 100
    show_full_result_count = False  # no COUNT(*) over a large trail on every page
    fields = ("uuid", "seq", "at", "actor", "actor_type", "action", "target_type", "target_id", "target_repr",
              "changes_table", "details_json", "request_id", "ip", "user_agent", "lane", "position",
              "prev_hash", "hash")
    readonly_fields = fields

    def lookup_allowed(self, lookup, value, request=None):
        # The "History" links filter by target id (and callers may add target_type/actor/request_id).
        if lookup in ("target_id", "target_type", "actor", "request_id"):
            return True
        return super().lookup_allowed(lookup, value, request)

    @admin.display(description="changes")
    def changes_table(self, event):
        if not event.changes:
            return "—"
        rows = "".join(
            format_html("<tr><th>{}</th><td>{}</td><td>{}</td></tr>", name, _show(pair[0]), _show(pair[1]))
            for name, pair in sorted(event.changes.items())
        )
        return format_html("<table><tr><th>field</th><th>before</th><th>after</th></tr>{}</table>", _safe(rows))

    @admin.display(description="details")
    def details_json(self, event):
        return json.dumps(event.details, indent=2, sort_keys=True) if event.details else "—"



def _show(value):
    return "—" if value is None else json.dumps(value, ensure_ascii=False)


def _safe(html):
    from django.utils.safestring import mark_safe

    return mark_safe(html)  # noqa: S308 — every cell was escaped by format_html above


@admin.register(ChainHead)
class ChainHeadAdmin(ReadOnlyAdmin):
    list_display = ("lane", "length", "hash")
    readonly_fields = ("lane", "length", "hash")
