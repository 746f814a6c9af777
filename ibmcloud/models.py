"""The IBM face's own models: the account, trusted profiles with their claim rules, links and identities,
access policies, IBM's names of roles, service ID groups, preferences and activity reports."""

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
    system_access_token_expiration_in_seconds = models.CharField(max_length=16, default="NOT_SET")
    system_refresh_token_expiration_in_seconds = models.CharField(max_length=16, default="NOT_SET")
    restrict_user_list_visibility = models.CharField(max_length=16, default="NOT_RESTRICTED")
    restrict_user_domains = models.JSONField(default=list, blank=True)
    user_mfa = models.JSONField(default=list, blank=True)
    # IBM's access-management settings (/v1/accounts/{id}/settings/access_management)
    external_account_identity_interaction = models.JSONField(default=dict, blank=True)

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
    # A /v2/policies policy: made and shown in IBM's v2 shape (subject, resource, control, rule, pattern).
    v2 = models.BooleanField(default=False)
    pattern = models.CharField(max_length=255, blank=True, default="")
    rule = models.JSONField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "policies"
        ordering = ("created_at", "id")

    def __str__(self):
        return f"policy {self.role.key} → {self.subject_iam_id} ({self.state})"


class RoleFace(TimestampedModel):
    """IBM's names of a platform role: its ``name``, ``display_name``, ``service_name``, ``crn`` and the
    ``actions`` as IBM writes them (the role's ACL entries are what the engine reads). The built-in IBM roles
    have one (seeded); so does every custom role made on /v2/roles. A role without one shows its key."""

    role = models.OneToOneField(Role, on_delete=models.CASCADE, primary_key=True, related_name="ibm")
    name = models.CharField(max_length=64)
    display_name = models.CharField(max_length=255)
    service_name = models.CharField(max_length=255, blank=True, default="")
    crn = models.CharField(max_length=255, unique=True)
    kind = models.CharField(max_length=16, default="custom")  # custom, platform or service
    actions = models.JSONField(default=list, blank=True)
    created_by = models.CharField(max_length=64, default="system", editable=False)
    last_modified_by = models.CharField(max_length=64, default="system", editable=False)

    def __str__(self):
        return self.crn


class ServiceIdGroup(VersionedModel, TimestampedModel):
    """A named group of the account's service IDs (IBM's service ID groups)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=255)
    description = models.TextField(blank=True, default="", max_length=2000)
    created_by = models.CharField(max_length=64, default="system", editable=False)

    class Meta:
        ordering = ("name", "id")

    def __str__(self):
        return self.name


class ProfileLink(TimestampedModel):
    """A compute resource linked to a trusted profile (IBM's profile links). Stored: no compute resource
    signs in as a profile here, so a link grants nothing."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    profile = models.ForeignKey(TrustedProfile, on_delete=models.CASCADE, related_name="links")
    name = models.CharField(max_length=255, blank=True, default="")
    cr_type = models.CharField(max_length=32)
    crn = models.CharField(max_length=1000)
    namespace = models.CharField(max_length=255, blank=True, default="")
    link_name = models.CharField(max_length=255, blank=True, default="")
    component_type = models.CharField(max_length=255, blank=True, default="")
    component_name = models.CharField(max_length=255, blank=True, default="")

    class Meta:
        ordering = ("created_at", "id")

    def __str__(self):
        return self.name or str(self.id)


class ProfileIdentity(TimestampedModel):
    """An identity allowed to take on a trusted profile (IBM's profile identities). Stored: nothing takes on
    a profile here, and a profile holds no binding, so an entry grants nothing."""

    profile = models.ForeignKey(TrustedProfile, on_delete=models.CASCADE, related_name="identities")
    type = models.CharField(max_length=16)  # user, serviceid or crn
    identifier = models.CharField(max_length=1000)
    iam_id = models.CharField(max_length=1000)
    accounts = models.JSONField(default=list, blank=True)
    description = models.TextField(blank=True, default="", max_length=2000)

    class Meta:
        ordering = ("created_at", "id")
        constraints = [models.UniqueConstraint(fields=("profile", "type", "identifier"),
                                               name="profile_identity_unique")]

    def __str__(self):
        return f"{self.type}:{self.identifier}"


class Preference(TimestampedModel):
    """One preference of one identity for one service (IBM's preferences on the account scope)."""

    iam_id = models.CharField(max_length=64, db_index=True)
    service = models.CharField(max_length=100)
    preference_id = models.CharField(max_length=100)
    value_string = models.TextField(blank=True, default="", max_length=2000)
    value_list_of_strings = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ("service", "preference_id")
        constraints = [models.UniqueConstraint(fields=("iam_id", "service", "preference_id"),
                                               name="preference_unique")]

    def __str__(self):
        return f"{self.iam_id} {self.service}/{self.preference_id}"


class ActivityReport(TimestampedModel):
    """An activity report over the audit trail (IBM's inactivity report), built by a Celery task: ``pending``
    until it has run, then ``complete`` with its ``result`` (or ``failed``)."""

    reference = models.CharField(max_length=64, primary_key=True)
    type = models.CharField(max_length=16, default="inactive")
    duration_hours = models.PositiveIntegerField(default=720)
    status = models.CharField(max_length=16, default="pending")
    created_by = models.CharField(max_length=64, default="system", editable=False)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    result = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ("-created_at",)

    def __str__(self):
        return self.reference
