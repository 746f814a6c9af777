"""The console's audit screen: read-only, filterable; every object's "History" button lands here."""

import json

from django.contrib import admin
from django.utils.html import format_html

from iam_project.console import HumanNamesMixin, ReadOnlyAdminMixin, identity_column, when_column

from .filters import ActionFamilyFilter, IdentityFilter, TargetFilter, TimeRangeFilter
from .models import AuditEvent, ChainHead


class ReadOnlyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Nothing in the trail can be added, changed or deleted from the console; no actions either."""

    def get_actions(self, request):
        return {}


@admin.register(AuditEvent)
class AuditEventAdmin(HumanNamesMixin, ReadOnlyAdmin):
    # One line per event: who by name (iam id on hover), when relative (exact time on hover), what.
    list_display = ("seq", "when", "actor_name", "action", "target", "ip")
    list_display_links = ("seq", "when")
    identity_fields = ("actor",)
    list_filter = (IdentityFilter, ActionFamilyFilter, TargetFilter, TimeRangeFilter, "action", "target_type",
                   "actor_type")
    change_list_template = "admin/audit/auditevent/change_list.html"
    search_fields = ("=actor", "=target_id", "=request_id", "target_repr", "=uuid")
    date_hierarchy = "at"
    ordering = ("-seq",)
    list_per_page = 100
    show_full_result_count = False  # no COUNT(*) over a large trail on every page
    fields = ("uuid", "seq", "at", "actor_name", "actor_type", "action", "target_type", "target_id", "target_repr",
              "changes_table", "details_json", "request_id", "ip", "user_agent", "lane", "position",
              "prev_hash", "hash")
    readonly_fields = fields

    def lookup_allowed(self, lookup, value, request=None):
        # The "History" links filter by target id (and callers may add target_type/actor/request_id).
        if lookup in ("target_id", "target_type", "actor", "request_id"):
            return True
        return super().lookup_allowed(lookup, value, request)

    when = when_column("at", "when", ordering="seq")
    actor_name = identity_column("actor", "actor")

    @admin.display(description="target", ordering="target_repr")
    def target(self, event):
        if not (event.target_type or event.target_id):
            return "—"
        return format_html('<span title="{} {}">{}</span>', event.target_type, event.target_id,
                           event.target_repr or event.target_id)

    def get_urls(self):
        from django.urls import path

        return [path("export/<str:fmt>/", self.admin_site.admin_view(self.export_view), name="audit_auditevent_export"),
                *super().get_urls()]

    def export_view(self, request, fmt):
        """The changelist as filtered, as CSV or NDJSON: needs reading the trail (as the list and the
        API's export do), and is itself recorded (``audit.exported``, with the filters)."""
        from django.core.exceptions import PermissionDenied
        from django.http import Http404, StreamingHttpResponse
        from django.utils import timezone

        from .export import FORMATS, stream
        from .services import record

        if not self.has_view_permission(request):
            raise PermissionDenied
        if fmt not in FORMATS:
            raise Http404("Export formats: csv, ndjson.")
        queryset = self.get_changelist_instance(request).get_queryset(request).order_by("seq")
        filters = {key: value for key, value in request.GET.items()}
        record("audit.exported", target_type="audit_trail", target_repr=f"console export ({fmt})",
               details={"format": fmt, "filters": filters})
        response = StreamingHttpResponse(stream(queryset, fmt), content_type=FORMATS[fmt])
        response["Content-Disposition"] = f'attachment; filename="audit-{timezone.now():%Y%m%dT%H%M%SZ}.{fmt}"'
        return response

    @admin.display(description="changes")
    def changes_table(self, event):
        """Before and after, field by field; for a list, what was removed and what was added."""
        if not event.changes:
            return "—"
        rows = "".join(
            format_html("<tr><th>{}</th><td><del>{}</del></td><td><ins>{}</ins></td></tr>", name, *_diff(pair))
            for name, pair in sorted(event.changes.items())
        )
        return format_html('<table class="audit-diff"><tr><th>field</th><th>before</th><th>after</th></tr>{}</table>',
                           _safe(rows))

    @admin.display(description="details")
    def details_json(self, event):
        return json.dumps(event.details, indent=2, sort_keys=True) if event.details else "—"



def _diff(pair):
    """(before, after) text; a list shows only the entries removed and added, a dict the keys changed."""
    before, after = (list(pair) + [None, None])[:2]
    if isinstance(before, list) and isinstance(after, list):
        removed = [item for item in before if item not in after]
        added = [item for item in after if item not in before]
        return (_show(removed) if removed else "—"), (_show(added) if added else "—")
    if isinstance(before, dict) and isinstance(after, dict):
        keys = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
        return (_show({k: before[k] for k in keys if k in before}) or "—",
                _show({k: after[k] for k in keys if k in after}) or "—")
    return _show(before), _show(after)


def _show(value):
    return "—" if value is None else json.dumps(value, ensure_ascii=False)


def _safe(html):
    from django.utils.safestring import mark_safe

    return mark_safe(html)  # noqa: S308 — every cell was escaped by format_html above


@admin.register(ChainHead)
class ChainHeadAdmin(ReadOnlyAdmin):
    list_display = ("lane", "length", "hash")
    readonly_fields = ("lane", "length", "hash")
