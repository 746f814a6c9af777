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
