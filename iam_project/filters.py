"""Filter classes shared by the apps' FilterSets."""

import django_filters
from django_filters.fields import IsoDateTimeField

from .validators import utc_datetime


class UTCIsoDateTimeField(IsoDateTimeField):
    def to_python(self, value):
        return utc_datetime(super().to_python(value))


class IsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    """An ISO 8601 date and time, compared in UTC (any offset the client sends, within range)."""

    field_class = UTCIsoDateTimeField
