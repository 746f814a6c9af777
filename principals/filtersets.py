"""Filters of the principals list: email, suspended and rolePrefix (principals holding a role key
starting with the prefix, e.g. 'system:portal:')."""

import django_filters
from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from roles.models import RoleBinding


class PrincipalFilterSet(django_filters.FilterSet):
    email = django_filters.CharFilter(field_name="email", lookup_expr="iexact")
    emailContains = django_filters.CharFilter(field_name="email", lookup_expr="icontains")
    suspended = django_filters.BooleanFilter(field_name="suspended")
    rolePrefix = django_filters.CharFilter(method="filter_role_prefix", max_length=100)

    class Meta:
        model = get_user_model()
        fields = []

    def filter_role_prefix(self, queryset, name, value):
        now = timezone.now()
        holds = RoleBinding.objects.filter(principal=OuterRef("pk"), role__key__startswith=value).filter(
            Q(expires_at__isnull=True) | Q(expires_at__gt=now)
        ).filter(Q(starts_at__isnull=True) | Q(starts_at__lte=now))
        return queryset.filter(Exists(holds))
