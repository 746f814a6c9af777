"""The IBM face's own models: the account, trusted profiles with their claim rules, and access policies."""

import secrets
import uuid

from django.db import models

from iam_project.models import TimestampedModel, VersionedModel
from roles.models import Role, RoleBinding


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


class TrustedProfile(VersionedModel, TimestampedModel):
    """An identity that federated users (or compute resources) take on when their claims match one
    of its claim rules; it holds roles through policies like any identity."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=255)
    description = models.TextField(blank=True, default="", max_length=2000)
    email = models.EmailField(blank=True, default="")
    iam_id = models.CharField(max_length=64, unique=True, editable=False)

    iam_id_prefix = "iam-Profile-"

    class Meta:
        ordering = ("name", "id")

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        if not self.iam_id:
            self.iam_id = f"{self.iam_id_prefix}{self.id}"
        super().save(*args, **kwargs)


class ClaimRule(VersionedModel, TimestampedModel):
    """Conditions on federated claims (``[{"claim", "operator", "value"}]``, all must hold) that let
    a session take on the profile for ``expiration`` seconds."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    profile = models.ForeignKey(TrustedProfile, on_delete=models.CASCADE, related_name="rules")
    name = models.CharField(max_length=255, blank=True, default="")
    type = models.CharField(max_length=64)  # Profile-SAML or Profile-CR
    realm_name = models.CharField(max_length=255, blank=True, default="")
    cr_type = models.CharField(max_length=16, blank=True, default="")
    expiration = models.PositiveIntegerField(default=43200)
    conditions = models.JSONField(default=list)

    class Meta:
        ordering = ("created_at", "id")

    def __str__(self):
        return self.name or str(self.id)


class Policy(VersionedModel, TimestampedModel):
    """An IBM-style access policy: the IBM face's view of one role binding (``source=policy``).

    ``subjects``/``resources`` keep the attributes as given; the binding holds what the engine
    reads. A policy in state ``deleted`` keeps its record but its binding is gone: it grants nothing.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    type = models.CharField(max_length=32, default="access")
    description = models.TextField(blank=True, default="", max_length=2000)
    state = models.CharField(max_length=16, default="active")
    subject_iam_id = models.CharField(max_length=64, db_index=True)
    role = models.ForeignKey(Role, on_delete=models.PROTECT, related_name="policies")
    subjects = models.JSONField(default=list)
    resources = models.JSONField(default=list)
    scope = models.CharField(max_length=255, blank=True, default="")
    binding = models.OneToOneField(RoleBinding, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="policy")
    created_by = models.CharField(max_length=64, default="system", editable=False)
    last_modified_by = models.CharField(max_length=64, default="system", editable=False)

    class Meta:
        verbose_name_plural = "policies"
        ordering = ("created_at", "id")

    def __str__(self):
        return f"policy {self.role.key} → {self.subject_iam_id} ({self.state})"
