"""Enumerations of the jit app."""

from django.db import models


class RequestStatusChoices(models.TextChoices):
    PENDING = "pending", "Pending approval"
    ACTIVE = "active", "Active"
    DENIED = "denied", "Denied"
    CANCELLED = "cancelled", "Cancelled"
    EXPIRED = "expired", "Expired"
    REVOKED = "revoked", "Revoked early"


OPEN_STATUSES = (RequestStatusChoices.PENDING, RequestStatusChoices.ACTIVE)
