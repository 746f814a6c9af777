"""The account: one installation is one IBM-style account, with the identity settings it honours."""

import secrets

from django.db import models

from iam_project.models import TimestampedModel, VersionedModel


class AccountSettings(VersionedModel, TimestampedModel):
    """The single account of this installation (row 1). ``account_id`` is generated once."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    account_id = models.CharField(max_length=32, unique=True, editable=False)
    restrict_create_service_id = models.CharField(max_length=16, default="NOT_SET")
    restrict_create_platform_apikey = models.CharField(max_length=16, default="NOT_SET")
    mfa = models.CharField(max_length=16, default="NONE")
    session_expiration_in_seconds = models.CharField(max_length=16, default="NOT_SET")
    session_invalidation_in_seconds = models.CharField(max_length=16, default="NOT_SET")
    max_sessions_per_identity = models.CharField(max_length=16, default="NOT_SET")
    allowed_ip_addresses = models.TextField(blank=True, default="")

    class Meta:
        verbose_name_plural = "account settings"

    def __str__(self):
        return f"account {self.account_id}"

    @classmethod
    def current(cls):
        """The account, created on first use (bootstrap makes it too)."""
        settings_row = cls.objects.filter(pk=1).first()
        if settings_row is None:
            settings_row, _ = cls.objects.get_or_create(pk=1, defaults={"account_id": secrets.token_hex(16)})
        return settings_row
