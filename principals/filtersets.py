"""Filters of the principals list: email, suspended and rolePrefix (principals holding a role key
starting with the prefix, e.g. 'system:portal:')."""

import django_filters
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from roles.models import RoleBinding


class _PerRowExists(Exists):
    """An EXISTS that PostgreSQL checks row by row while it reads principals in email order (the OFFSET
    keeps the planner from turning it into a join over every holder): the page then stops after its 50."""

    def as_sql(self, compiler, connection, template=None, **extra_context):
        sql, params = super().as_sql(compiler, connection, template=template, **extra_context)
        if connection.vendor == "postgresql" and sql.endswith(")"):
            sql = sql[:-1] + " OFFSET 0)"
        return sql, params


class PrincipalFilterSet(django_filters.FilterSet):
    email = django_filters.CharFilter(field_name="email", lookup_expr="iexact")
    emailContains = django_filters.CharFilter(field_name="email", lookup_expr="icontains")
    suspended = django_filters.BooleanFilter(field_name="suspended")
    rolePrefix = django_filters.CharFilter(method="filter_role_prefix", max_length=100)

    class Meta:
        model = get_user_model()
        fields = []

    def filter_role_prefix(self, queryset, name, value):
        """Two plans, chosen by how many principals hold such a role (counted up to a bound, on the
        (role, principal) index): few holders — start from their bindings and sort them (cost grows with
        the holders); many — read principals in email order, checking each, until the page is full (cost
        grows with principals ÷ holders). Either way a page stays flat as the directory grows."""
        now = timezone.now()
        holds = RoleBinding.objects.filter(role__key__startswith=value, principal__isnull=False).filter(
            Q(expires_at__isnull=True) | Q(expires_at__gt=now)
        ).filter(Q(starts_at__isnull=True) | Q(starts_at__lte=now))
        bound = int(getattr(settings, "IAM_ROLE_PREFIX_BINDINGS_FIRST_MAX", 1000))
        if connection.vendor != "postgresql" or holds.order_by().values("pk")[:bound].count() < bound:
            return queryset.filter(pk__in=holds.values("principal_id"))
        return queryset.filter(_PerRowExists(holds.filter(principal=OuterRef("pk"))))
