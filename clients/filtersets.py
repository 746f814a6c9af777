"""Filters of the clients list: name, suspended, system, grant type."""

import django_filters
from oauth2_provider.models import get_application_model


class ClientFilterSet(django_filters.FilterSet):
    name = django_filters.CharFilter(field_name="name", lookup_expr="iexact")
    nameContains = django_filters.CharFilter(field_name="name", lookup_expr="icontains")
    suspended = django_filters.BooleanFilter(field_name="suspended")
    isSystem = django_filters.BooleanFilter(field_name="is_system")

    class Meta:
        model = get_application_model()
        fields = []
