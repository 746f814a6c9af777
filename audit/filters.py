"""The audit screen's filters: identity by name or email, action family, target, time range."""

from datetime import datetime, time, timezone as dt_timezone

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.db.models import Q
from django.utils.dateparse import parse_date, parse_datetime

from iam_project.consoleformat import identities_matching

from .models import AuditEvent


class TextInputFilter(admin.ListFilter):
    """A filter typed into text boxes (a plain GET form: no script), one or more query parameters."""

    parameters = ()  # (name, label, input type)
    template = "admin/audit/text_filter.html"

    def __init__(self, request, params, model, model_admin):
        super().__init__(request, params, model, model_admin)
        self.values = {}
        for name, _label, _kind in self.parameters:
            if name in params:
                value = params.pop(name)
                value = (value[-1] if isinstance(value, list) else value).strip()
                if value:
                    self.used_parameters[name] = self.values[name] = value

    def has_output(self):
        return True

    def expected_parameters(self):
        return [name for name, _label, _kind in self.parameters]

    def choices(self, changelist):
        keep = [(key, value) for key, values in changelist.params.items() if key not in self.expected_parameters()
                for value in (values if isinstance(values, list) else [values])]
        yield {"fields": [(name, label, kind, self.values.get(name, "")) for name, label, kind in self.parameters],
               "keep": keep, "clear": changelist.get_query_string(remove=self.expected_parameters()),
               "active": bool(self.values)}


class IdentityFilter(TextInputFilter):
    """Events by an identity or about it, named as a person would: email (or its start), client name, iam id."""

    title = "identity"
    parameters = (("identity", "Email, name or iam id", "text"),)

    def queryset(self, request, queryset):
        if "identity" not in self.values:
            return queryset
        iam_ids, pks = identities_matching(self.values["identity"])
        return queryset.filter(Q(actor__in=iam_ids) | Q(target_id__in=iam_ids + pks))


class TargetFilter(TextInputFilter):
    title = "target"
    parameters = (("target", "Target id or name", "text"),)

    def queryset(self, request, queryset):
        if "target" not in self.values:
            return queryset
        value = self.values["target"]
        return queryset.filter(Q(target_id=value) | Q(target_repr__icontains=value))


def _moment(text, end=False):
    """A date (the whole day) or a date and time, in UTC; IncorrectLookupParameters otherwise (the admin
    shows it as a bad filter rather than failing)."""
    moment = parse_datetime(text.replace(" ", "T")) if ("T" in text or " " in text or ":" in text) else None
    if moment is None:
        try:
            day = parse_date(text)
        except ValueError:
            day = None
        if day is None:
            raise IncorrectLookupParameters(f"Not a date or time: {text}")
        moment = datetime.combine(day, time.max if end else time.min)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt_timezone.utc)


class TimeRangeFilter(TextInputFilter):
    title = "time range (UTC)"
    parameters = (("since", "From (YYYY-MM-DD [HH:MM])", "text"), ("until", "Until (YYYY-MM-DD [HH:MM])", "text"))

    def queryset(self, request, queryset):
        try:
            if "since" in self.values:
                queryset = queryset.filter(at__gte=_moment(self.values["since"]))
            if "until" in self.values:
                queryset = queryset.filter(at__lte=_moment(self.values["until"], end=True))
        except (ValueError, OverflowError) as exc:
            raise IncorrectLookupParameters(str(exc)) from exc
        return queryset


class ActionFamilyFilter(admin.SimpleListFilter):
    """``login``, ``token``, ``principal``…: the part of the action before the dot."""

    title = "action family"
    parameter_name = "family"

    def lookups(self, request, model_admin):
        families = sorted({action.split(".", 1)[0] for action in
                           AuditEvent.objects.order_by().values_list("action", flat=True).distinct()})
        return [(family, family) for family in families]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(action__startswith=f"{self.value()}.")
        return queryset
