"""The platform's multi-factor policy (one row, also the IBM face's account setting ``mfa``) and enrolment reports.

The factors themselves are django-otp's devices: ``TOTPDevice`` (authenticator apps), ``StaticDevice`` with
its ``StaticToken`` rows (recovery codes, stored as digests) and django-otp-webauthn's ``WebAuthnCredential``
(passkeys and security keys).
"""

import uuid

from django.db import models

from iam_project.models import TimestampedModel, VersionedModel

# IBM Cloud's values for the account setting ``mfa`` (iam_identity_v1 IdBasedMfaEnrollment):
# NONE, NONE_NO_ROPC — nobody by default; TOTP, TOTP4ALL, LEVEL1, LEVEL2 — everyone, any second
# factor (there are no federated users here, and no e-mail codes: LEVEL1 is met by any factor);
# LEVEL3 — everyone, with a security key or passkey.
MFA_LEVELS = ("NONE", "NONE_NO_ROPC", "TOTP", "TOTP4ALL", "LEVEL1", "LEVEL2", "LEVEL3")
NOT_REQUIRED_LEVELS = ("NONE", "NONE_NO_ROPC")
PASSKEY_LEVEL = "LEVEL3"


def new_reference():
    return uuid.uuid4().hex


def default_required_roles():
    """The roles whose holders must use a second factor when the policy row is made (IAM MFA_REQUIRED_ROLES)."""
    from iam_project.conf import iam_settings

    return list(iam_settings.MFA_REQUIRED_ROLES or [])


class MfaPolicy(VersionedModel, TimestampedModel):
    """Who must sign in with a second factor: everyone (``level`` other than NONE), and — whatever the
    level — holders of ``required_roles``. One row (pk 1)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    level = models.CharField(max_length=16, default="NONE", choices=[(v, v) for v in MFA_LEVELS])
    required_roles = models.JSONField(default=default_required_roles, blank=True)

    class Meta:
        verbose_name = "multi-factor policy"
        verbose_name_plural = "multi-factor policy"

    def __str__(self):
        return f"MFA {self.level}, required for {', '.join(self.required_roles) or 'no role'}"

    @classmethod
    def current(cls):
        row = cls.objects.filter(pk=1).first()
        if row is None:
            row, _ = cls.objects.get_or_create(pk=1)
        return row

    @property
    def required_for_everyone(self):
        return self.level not in NOT_REQUIRED_LEVELS

    @property
    def passkey_only(self):
        return self.level == PASSKEY_LEVEL


class MfaReport(models.Model):
    """A snapshot of everyone's enrolment (IBM's MFA report): made on request, read by its reference."""

    reference = models.CharField(max_length=36, primary_key=True, default=new_reference)
    created_by = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    users = models.JSONField(default=list)

    class Meta:
        ordering = ("-created_at",)
