"""Filters of the audit trail: actor, target, action (``jit.*`` for a family), time range, request id."""

import django_filters

from iam_project.filters import IsoDateTimeFilter

from .models import AuditEvent


class AuditEventFilterSet(django_filters.FilterSet):
    actor = django_filters.CharFilter(field_name="actor", max_length=64)
    actorType = django_filters.CharFilter(field_name="actor_type", max_length=16)
    targetType = django_filters.CharFilter(field_name="target_type", max_length=64)
    targetId = django_filters.CharFilter(field_name="target_id", max_length=255)
    action = django_filters.CharFilter(method="filter_action", max_length=64)
    since = IsoDateTimeFilter(field_name="at", lookup_expr="gte")
    until = IsoDateTimeFilter(field_name="at", lookup_expr="lt")
    requestId = django_filters.CharFilter(field_name="request_id", max_length=128)

    class Meta:
        model = AuditEvent
        fields = []

    def filter_action(self, queryset, name, value):
        """An exact action, or a family with a trailing '*' (``jit.*``, ``login.*``)."""
        if value.endswith("*"):
            return queryset.filter(action__startswith=value[:-1])
        return queryset.filter(action=value)
