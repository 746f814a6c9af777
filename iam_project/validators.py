"""Validators shared by the API serializers, the services and the console forms."""

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

MAX_LOCAL_PART = 64  # RFC 5321 §4.5.3.1.1
MAX_ADDRESS = 254  # RFC 5321 §4.5.3.1.3 (a 256-octet path, less its angle brackets)


def validate_email_address(value):
    """An address mail can be sent to: Django's syntax check plus RFC 5321's length limits, which the
    OpenAPI ``format: email`` promises and Django's validator does not enforce."""
    validate_email(value)
    local, _, _domain = str(value).rpartition("@")
    if len(local.encode("utf-8")) > MAX_LOCAL_PART:
        raise ValidationError(f"The part before @ must be at most {MAX_LOCAL_PART} characters (RFC 5321).",
                              code="invalid")
    if len(str(value).encode("utf-8")) > MAX_ADDRESS:
        raise ValidationError(f"Must be at most {MAX_ADDRESS} characters (RFC 5321).", code="invalid")


def utc_datetime(value):
    """An aware datetime moved to UTC (naive ones are taken as UTC). PostgreSQL refuses offsets beyond
    ±15:59 that Python accepts, and a date near year 1 or 9999 may not exist in UTC: both are a
    ValidationError here rather than a database error later."""
    from datetime import timezone as dt_timezone

    if value is None:
        return None
    try:
        if value.tzinfo is None:
            return value.replace(tzinfo=dt_timezone.utc)
        return value.astimezone(dt_timezone.utc)
    except (OverflowError, ValueError):
        raise ValidationError("Out of the range of dates this server stores.", code="invalid") from None
