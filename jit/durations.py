"""ISO 8601 durations in and out ("PT15M", "PT1H30M", "P1DT2H"), as the API speaks them."""

from datetime import timedelta

from django.utils.dateparse import parse_duration
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers


def format_duration(value):
    """timedelta -> the shortest ISO 8601 form: PT15M, PT1H30M, P1DT2H, PT0S."""
    total = int(value.total_seconds())
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    date_part = f"{days}D" if days else ""
    time_part = "".join(f"{n}{unit}" for n, unit in ((hours, "H"), (minutes, "M"), (seconds, "S")) if n)
    if not date_part and not time_part:
        return "PT0S"
    return "P" + date_part + ("T" + time_part if time_part else "")


def parse_iso_duration(text):
    """An ISO 8601 duration ('P…') -> timedelta, or None. Whole seconds; no years or months."""
    if (not isinstance(text, str) or len(text) > 32 or not text.startswith("P") or "Y" in text
            or ("M" in text.split("T")[0][1:])):
        return None
    try:
        value = parse_duration(text)
    except (OverflowError, ValueError):
        return None
    if value is None or value.microseconds:
        return None
    return value


@extend_schema_field({"type": "string", "format": "duration", "example": "PT15M"})
class ISODurationField(serializers.Field):
    default_error_messages = {
        "invalid": "Must be an ISO 8601 duration such as PT15M or PT1H30M (days, hours, minutes, seconds).",
        "positive": "Must be longer than zero.",
    }

    def to_internal_value(self, data):
        value = parse_iso_duration(data)
        if value is None:
            self.fail("invalid")
        if value <= timedelta(0):
            self.fail("positive")
        return value

    def to_representation(self, value):
        return format_duration(value)
