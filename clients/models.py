"""The Client: a program identity, stored as django-oauth-toolkit's application model."""

import hashlib
import uuid

from django.core.exceptions import ValidationError
from django.conf import settings
from django.db import models
from django.utils import timezone
from oauth2_provider.models import AbstractApplication

from iam_project.models import VersionedModel, validate_properties

from .choices import DOT_GRANT_TYPES, GrantTypeChoices

IAM_ID_PREFIX = "iam-ServiceId-"


def validate_grant_types(value):
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValidationError("Must be a list of grant type names.", code="invalid")
    unknown = sorted(set(value) - set(GrantTypeChoices.values))
    if unknown:
        raise ValidationError(f"Unknown grant types: {', '.join(unknown)}.", code="invalid_choice")


class Client(VersionedModel, AbstractApplication):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # The OAuth client_id is the client's id, so the path and the protocol name one thing.
    client_id = models.CharField(max_length=255, unique=True, editable=False, blank=True)
    iam_id = models.CharField(max_length=64, unique=True, editable=False)
    # Secrets live in their own table (several at once, SHA-256 digests); this column stays empty.
    client_secret = models.CharField(max_length=255, blank=True, default="", editable=False)
    hash_client_secret = models.BooleanField(default=False, editable=False)
    authorization_grant_type = models.CharField(max_length=44, blank=True, default="", editable=False)
    grant_types = models.JSONField(default=list, blank=True, validators=[validate_grant_types])
    scopes = models.JSONField(default=list, blank=True)
    properties = models.JSONField(default=dict, blank=True, validators=[validate_properties])
    is_system = models.BooleanField(default=False, editable=False)
    suspended = models.BooleanField(default=False)
    locked = models.BooleanField(default=False, help_text="A locked client cannot be changed or deleted.")

    iam_id_prefix = IAM_ID_PREFIX
    identity_type = "client"
    is_authenticated = True
    is_anonymous = False
    is_superuser = False
    is_staff = False

    class Meta(AbstractApplication.Meta):
        ordering = ("name",)

    def save(self, *args, **kwargs):
        if not self.client_id:
            self.client_id = str(self.id)
        if not self.iam_id:
            self.iam_id = f"{IAM_ID_PREFIX}{self.id}"
        # ID tokens are always RS256-signed with the platform's key (JWKS), never unsigned.
        self.algorithm = AbstractApplication.RS256_ALGORITHM
        # django-oauth-toolkit reads one grant type; keep it on the first one it understands.
        self.authorization_grant_type = next(
            (DOT_GRANT_TYPES[g] for g in self.grant_types if g in DOT_GRANT_TYPES), ""
        )
        super().save(*args, **kwargs)

    @property
    def is_active(self):
        return not self.suspended

    def get_absolute_url(self):
        """The client's resource in the API (django-oauth-toolkit's own page for it is not mounted)."""
        return f"/resources/iam/clients/{self.pk}"

    def is_usable(self, request):
        """django-oauth-toolkit asks this on every token request and every bearer-token use."""
        return not self.suspended

    def allows_grant_type(self, *grant_types):
        """True if any of the given django-oauth-toolkit grant names is in this client's list."""
        ours = {DOT_GRANT_TYPES.get(g, g) for g in self.grant_types}
        return bool(ours & set(grant_types))

    def has_perm(self, perm, obj=None):
        from roles.engine import decide_django_perm

        return decide_django_perm(self, perm, obj)


SECRET_PREFIX = "pcs_"


class ClientSecretQuerySet(models.QuerySet):
    def live(self, at=None):
        at = at or timezone.now()
        return self.filter(models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=at))


class ClientSecret(models.Model):
    """One of a client's secrets. Only its SHA-256 digest is stored; the value is shown once.

    A client may hold several live secrets at a time, so a secret can be rotated without downtime:
    make a new one, deploy it, then revoke (delete) the old one or let it expire.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="secrets")
    prefix = models.CharField(max_length=16, editable=False)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_by = models.CharField(max_length=64, default="system", editable=False)

    objects = ClientSecretQuerySet.as_manager()

    class Meta:
        ordering = ("created_at", "id")

    def __str__(self):
        return f"{self.prefix}… ({self.client})"

    @staticmethod
    def digest_of(value):
        return hashlib.sha256(value.encode("utf-8")).hexdigest()

    def is_live(self, at=None):
        return self.expires_at is None or self.expires_at > (at or timezone.now())


APIKEY_PREFIX = "pak_"


class ApiKey(VersionedModel):
    """A long-lived credential of a principal or a client, exchanged for short-lived access tokens
    (``POST /identity/token``). Only its SHA-256 digest is stored; the value is shown once. A
    locked key cannot be changed or deleted; a disabled one cannot authenticate."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=255)
    description = models.TextField(blank=True, default="", max_length=2000)
    principal = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
                                  related_name="api_keys")
    client = models.ForeignKey(Client, null=True, blank=True, on_delete=models.CASCADE, related_name="api_keys")
    iam_id = models.CharField(max_length=64, db_index=True, editable=False)
    prefix = models.CharField(max_length=16, editable=False)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    locked = models.BooleanField(default=False)
    disabled = models.BooleanField(default=False)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_by = models.CharField(max_length=64, default="system", editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    modified_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("created_at", "id")
        constraints = [
            models.CheckConstraint(condition=models.Q(principal__isnull=False) ^ models.Q(client__isnull=False),
                                   name="apikey_one_owner"),
        ]

    def __str__(self):
        return f"{self.name} ({self.prefix}…, {self.iam_id})"

    @property
    def owner(self):
        return self.principal or self.client

    @staticmethod
    def digest_of(value):
        return hashlib.sha256(value.encode("utf-8")).hexdigest()

    def is_usable(self, at=None):
        at = at or timezone.now()
        owner = self.owner
        return (not self.disabled and (self.expires_at is None or self.expires_at > at)
                and owner is not None and owner.is_active)


class ApiKeyIssue(models.Model):
    """What an API key's exchange issued: its access token and the family of refresh tokens that
    follows it. Disabling or deleting the key revokes them (clients.revocation), and a refresh at the
    token service is refused once its key can no longer be used — a leaked key's tokens end with it."""

    id = models.BigAutoField(primary_key=True)
    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="issues")
    access_token_id = models.BigIntegerField(null=True, blank=True)
    token_family = models.UUIDField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("created_at", "id")
