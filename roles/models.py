"""Role (a named set of ACL entries) and RoleBinding (one role granted to one identity, maybe scoped)."""

import ipaddress
import uuid
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from iam_project.identity import holder_iam_id, holder_label
from iam_project.models import TimestampedModel, VersionedModel

from .choices import BindingSourceChoices
from .permissions import ROLE_KEY, validate_acl_entries

SYSTEM_NAMESPACE = "system"
OWNER_ROLE = "system:owner"
PORTAL_ROLE = "system:portal:full"

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def validate_role_key(value):
    if not isinstance(value, str) or len(value) > 100 or not ROLE_KEY.match(value):
        raise ValidationError(
            "A role key is 'namespace:capability' in lower case (letters, digits, '-', '_').",
            code="invalid_key",
        )


class RoleQuerySet(models.QuerySet):
    def custom(self):
        return self.filter(is_system=False)


class Role(VersionedModel, TimestampedModel):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    key = models.CharField(max_length=100, unique=True, validators=[validate_role_key])
    description = models.TextField(blank=True, default="")
    acl_entries = models.JSONField(default=list, blank=True, validators=[validate_acl_entries])
    is_system = models.BooleanField(default=False, editable=False)

    objects = RoleQuerySet.as_manager()

    class Meta:
        ordering = ("key",)

    def __str__(self):
        return self.key

    @property
    def namespace(self):
        return self.key.split(":", 1)[0]

    def clean(self):
        super().clean()
        if not self.is_system and self.namespace == SYSTEM_NAMESPACE:
            raise ValidationError({"key": "The 'system:' namespace is reserved for built-in roles."})


def validate_conditions(value):
    """Conditions: {"ipRanges": [CIDR, ...], "timeWindow": {"start", "end", "days"?, "timezone"?}}."""
    if not isinstance(value, dict):
        raise ValidationError("Conditions must be a JSON object.", code="invalid")
    unknown = set(value) - {"ipRanges", "timeWindow"}
    if unknown:
        raise ValidationError(f"Unknown conditions: {', '.join(sorted(unknown))}.", code="invalid")
    ranges = value.get("ipRanges")
    if ranges is not None:
        if not isinstance(ranges, list) or not ranges:
            raise ValidationError("ipRanges must be a non-empty list of CIDR ranges.", code="invalid")
        for cidr in ranges:
            try:
                ipaddress.ip_network(cidr, strict=False)
            except (TypeError, ValueError):
                raise ValidationError(f"'{cidr}' is not an IP range.", code="invalid_ip_range") from None
    window = value.get("timeWindow")
    if window is not None:
        if not isinstance(window, dict) or not {"start", "end"} <= set(window):
            raise ValidationError("timeWindow needs 'start' and 'end' (HH:MM).", code="invalid")
        extra = set(window) - {"start", "end", "days", "timezone"}
        if extra:
            raise ValidationError(f"Unknown timeWindow fields: {', '.join(sorted(extra))}.", code="invalid")
        for name in ("start", "end"):
            parse_hhmm(window[name])
        days = window.get("days")
        if days is not None and (not isinstance(days, list) or not set(days) <= set(DAYS) or not days):
            raise ValidationError(f"days must be a list of {', '.join(DAYS)}.", code="invalid")
        tz = window.get("timezone", "UTC")
        try:
            zoneinfo.ZoneInfo(tz)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
            raise ValidationError(f"'{tz}' is not a time zone.", code="invalid_timezone") from None


def parse_hhmm(value):
    try:
        hours, minutes = str(value).split(":")
        hours, minutes = int(hours), int(minutes)
        if not (0 <= hours <= 24 and 0 <= minutes < 60) or (hours == 24 and minutes):
            raise ValueError
    except ValueError:
        raise ValidationError(f"'{value}' is not a time of day (HH:MM).", code="invalid_time") from None
    return hours * 60 + minutes


class RoleBindingQuerySet(models.QuerySet):
    def for_identity(self, identity):
        field = "principal" if identity.identity_type == "principal" else "client"
        return self.filter(**{field: identity})

    def current(self, at=None):
        """Bindings in force at ``at`` (now by default): started and not expired."""
        at = at or timezone.now()
        return self.filter(Q(starts_at__isnull=True) | Q(starts_at__lte=at)).filter(
            Q(expires_at__isnull=True) | Q(expires_at__gt=at)
        )

    def owners(self):
        return self.filter(role__key=OWNER_ROLE)


class RoleBinding(VersionedModel, TimestampedModel):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    principal = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="bindings"
    )
    client = models.ForeignKey(
        settings.OAUTH2_PROVIDER_APPLICATION_MODEL, null=True, blank=True, on_delete=models.CASCADE,
        related_name="bindings",
    )
    role = models.ForeignKey(Role, on_delete=models.PROTECT, related_name="bindings")
    scope = models.CharField(max_length=255, blank=True, default="",
                             help_text="Resource the binding is limited to (and everything beneath it).")
    conditions = models.JSONField(default=dict, blank=True, validators=[validate_conditions])
    starts_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    source = models.CharField(max_length=16, choices=BindingSourceChoices.choices,
                              default=BindingSourceChoices.DIRECT)
    created_by = models.CharField(max_length=64, default="system", editable=False)

    objects = RoleBindingQuerySet.as_manager()

    class Meta:
        ordering = ("created_at",)
        constraints = [
            models.CheckConstraint(
                condition=(Q(principal__isnull=False, client__isnull=True)
                           | Q(principal__isnull=True, client__isnull=False)),
                name="binding_exactly_one_identity",
            ),
            models.UniqueConstraint(
                fields=("principal", "role", "scope"), condition=Q(source="direct", principal__isnull=False),
                name="binding_direct_principal_unique",
            ),
            models.UniqueConstraint(
                fields=("client", "role", "scope"), condition=Q(source="direct", client__isnull=False),
                name="binding_direct_client_unique",
            ),
        ]
        indexes = [models.Index(fields=("role", "principal"))]

    def __str__(self):
        scope = f" on {self.scope}" if self.scope else ""
        return f"{self.role.key} → {holder_label(self)}{scope}"

    @property
    def identity(self):
        return self.principal if self.principal_id else self.client

    @property
    def identity_iam_id(self):
        return holder_iam_id(self)

    def is_expired(self, at=None):
        return self.expires_at is not None and self.expires_at <= (at or timezone.now())

    def is_active(self, at=None):
        at = at or timezone.now()
        started = self.starts_at is None or self.starts_at <= at
        return started and not self.is_expired(at)

    def clean(self):
        super().clean()
        if bool(self.principal_id) == bool(self.client_id):
            raise ValidationError("A binding belongs to exactly one principal or one client.")
        if self.starts_at and self.expires_at and self.expires_at <= self.starts_at:
            raise ValidationError({"expires_at": "Must be after starts_at."})
