"""The Principal: a person, identified by email, with roles through bindings."""

import uuid

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.db import models
from django.utils.crypto import salted_hmac

from iam_project.conf import iam_settings
from iam_project.models import TimestampedModel, VersionedModel, validate_properties

IAM_ID_PREFIX = "iam-Principal-"


def uuid_hex():
    return uuid.uuid4().hex


class PrincipalManager(BaseUserManager):
    use_in_migrations = True

    def get_by_natural_key(self, email):
        # Emails are stored lower-cased, so an exact match on the unique index is case-insensitive.
        return self.get(email=(email or "").strip().lower())

    def create_user(self, email, password=None, **fields):
        principal = self.model(email=self.normalize_email(email), **fields)
        principal.set_password(password)
        principal.save(using=self._db)
        return principal

    def create_superuser(self, email, password=None, **fields):
        """There is no superuser flag: console and API power come from the system:owner role. Made
        through the principals service, in one transaction, audited as the platform."""
        from django.db import transaction

        from iam_project.context import request_context

        from .services import create_principal

        with request_context(actor="system", request_id="create-superuser"), transaction.atomic():
            return create_principal(None, email, properties=fields.get("properties") or {},
                                    roles=["system:owner"], password=password)


class Principal(VersionedModel, TimestampedModel, AbstractBaseUser):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    iam_id = models.CharField(max_length=64, unique=True, editable=False)
    email = models.EmailField(max_length=254, unique=True,
                              error_messages={"unique": "A principal with this email already exists."})
    properties = models.JSONField(default=dict, blank=True, validators=[validate_properties])
    suspended = models.BooleanField(default=False)
    suspended_at = models.DateTimeField(null=True, blank=True, editable=False)
    must_change_password = models.BooleanField(default=False)
    # Changed whenever everything issued to the principal so far must stop working (its email was
    # changed by someone else): signed-in sessions and pending password resets carry the old one.
    security_stamp = models.CharField(max_length=32, default=uuid_hex, editable=False)

    objects = PrincipalManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = []

    iam_id_prefix = IAM_ID_PREFIX
    identity_type = "principal"
    # No flag can bypass the engine: Django's superuser shortcut does not exist here.
    is_superuser = False

    class Meta:
        ordering = ("email",)

    def __str__(self):
        return self.email

    def save(self, *args, **kwargs):
        if not self.iam_id:
            self.iam_id = f"{IAM_ID_PREFIX}{self.id}"
        self.email = (self.email or "").strip().lower()
        super().save(*args, **kwargs)

    @property
    def is_active(self):
        return not self.suspended

    def _get_session_auth_hash(self, secret=None):
        """Sessions end when the password *or* the security stamp changes."""
        return salted_hmac("principals.Principal.get_session_auth_hash", f"{self.password}:{self.security_stamp}",
                           secret=secret, algorithm="sha256").hexdigest()

    def renew_security_stamp(self):
        self.security_stamp = uuid_hex()

    @property
    def is_staff(self):
        """Console access is a permission from the roles, never a flag."""
        if self.suspended or not self.pk:
            return False
        from roles.engine import decide

        return decide(self, iam_settings.CONSOLE_PERMISSION).allowed

    @property
    def display_name(self):
        name = self.properties.get("name") if isinstance(self.properties, dict) else None
        return name or self.email

    def get_full_name(self):
        return self.display_name

    def get_short_name(self):
        return self.email

    def has_perm(self, perm, obj=None):
        # Django-style "app.codename" checks (admin, guardian) are mapped onto the engine.
        from roles.engine import decide_django_perm

        return decide_django_perm(self, perm, obj)

    def has_perms(self, perm_list, obj=None):
        return all(self.has_perm(perm, obj) for perm in perm_list)

    def has_module_perms(self, app_label):
        from roles.engine import decide_app_access

        return decide_app_access(self, app_label)


# The sign-in session records live in their own module (principals/sessions); imported here to be a model of this app.
from .sessions.models import SignInSession  # noqa: E402,F401
