"""Just-in-time access: who may request which role for how long (Eligibility), the requests, and
their approvals. An active request owns one RoleBinding (source=jit, expires_at) — the engine stops
honouring it at that instant, whatever the state of the workers."""

import uuid
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from iam_project.identity import holder_iam_id
from iam_project.models import TimestampedModel, VersionedModel
from roles.models import Role, RoleBinding

from .choices import RequestStatusChoices

MAX_DURATION = timedelta(days=7)


class Eligibility(VersionedModel, TimestampedModel):
    """An identity — or every holder of ``held_role`` — may request ``role`` (optionally on ``scope``)
    for at most ``max_duration``, approved by ``approvals_required`` holders of ``approver_role``."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    principal = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
                                  related_name="jit_eligibilities")
    client = models.ForeignKey(settings.OAUTH2_PROVIDER_APPLICATION_MODEL, null=True, blank=True,
                               on_delete=models.CASCADE, related_name="jit_eligibilities")
    held_role = models.ForeignKey(Role, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                  help_text="Every holder of this role is eligible.")
    role = models.ForeignKey(Role, on_delete=models.PROTECT, related_name="jit_eligibilities")
    scope = models.CharField(max_length=255, blank=True, default="")
    max_duration = models.DurationField()
    approval_required = models.BooleanField(default=True)
    approver_role = models.ForeignKey(Role, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    approvals_required = models.PositiveSmallIntegerField(default=1)
    justification_required = models.BooleanField(default=True)
    created_by = models.CharField(max_length=64, default="system", editable=False)

    class Meta:
        verbose_name_plural = "eligibilities"
        ordering = ("role__key", "created_at")
        constraints = [
            models.CheckConstraint(
                condition=(Q(principal__isnull=False, client__isnull=True, held_role__isnull=True)
                           | Q(principal__isnull=True, client__isnull=False, held_role__isnull=True)
                           | Q(principal__isnull=True, client__isnull=True, held_role__isnull=False)),
                name="eligibility_one_subject",
            ),
            models.CheckConstraint(condition=Q(approvals_required__gte=1), name="eligibility_approvals_positive"),
        ]

    def __str__(self):
        return f"{self.subject_label} may request {self.role.key}" + (f" on {self.scope}" if self.scope else "")

    @property
    def identity(self):
        return self.principal or self.client

    @property
    def subject_label(self):
        if self.held_role_id:
            return f"holders of {self.held_role.key}"
        return holder_iam_id(self) or "?"

    def clean(self):
        super().clean()
        subjects = [bool(self.principal_id), bool(self.client_id), bool(self.held_role_id)]
        if sum(subjects) != 1:
            raise ValidationError("An eligibility names exactly one identity or one held role.")
        if self.max_duration is not None and not (timedelta(seconds=1) <= self.max_duration <= MAX_DURATION):
            raise ValidationError({"max_duration": f"Must be between 1 second and {MAX_DURATION.days} days."})


class AccessRequest(VersionedModel, TimestampedModel):
    """A request for ``role`` for ``duration``; on approval it becomes ``binding`` until ``expires_at``."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    principal = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
                                  related_name="jit_requests")
    client = models.ForeignKey(settings.OAUTH2_PROVIDER_APPLICATION_MODEL, null=True, blank=True,
                               on_delete=models.CASCADE, related_name="jit_requests")
    requester_iam_id = models.CharField(max_length=64, db_index=True, editable=False)
    eligibility = models.ForeignKey(Eligibility, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="requests")
    role = models.ForeignKey(Role, on_delete=models.PROTECT, related_name="jit_requests")
    scope = models.CharField(max_length=255, blank=True, default="")
    duration = models.DurationField()
    justification = models.TextField(blank=True, default="", max_length=2000)
    status = models.CharField(max_length=16, choices=RequestStatusChoices.choices,
                              default=RequestStatusChoices.PENDING, db_index=True)
    approvals_required = models.PositiveSmallIntegerField(default=1)
    approver_role = models.ForeignKey(Role, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    starts_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    binding = models.OneToOneField(RoleBinding, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="jit_request")
    decided_by = models.CharField(max_length=64, blank=True, default="")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_comment = models.TextField(blank=True, default="", max_length=2000)
    ended_by = models.CharField(max_length=64, blank=True, default="")
    ended_at = models.DateTimeField(null=True, blank=True)
    reminder_sent = models.BooleanField(default=False)

    class Meta:
        ordering = ("-created_at", "id")
        constraints = [
            models.CheckConstraint(condition=Q(principal__isnull=False) ^ Q(client__isnull=False),
                                   name="jit_request_one_requester"),
            # One open (pending or active) request per identity, role and scope — held by the
            # database, so two concurrent requests cannot both pass.
            models.UniqueConstraint(fields=("requester_iam_id", "role", "scope"),
                                    condition=Q(status__in=("pending", "active")), name="jit_request_one_open"),
        ]

    def __str__(self):
        return f"{self.requester_iam_id} → {self.role.key} for {self.duration} ({self.status})"

    @property
    def requester(self):
        return self.principal or self.client

    def is_requester(self, identity):
        return identity is not None and identity.iam_id == self.requester_iam_id

    def time_left(self, at=None):
        if self.status != RequestStatusChoices.ACTIVE or self.expires_at is None:
            return None
        return max(self.expires_at - (at or timezone.now()), timedelta(0))


class Approval(models.Model):
    """One approver's yes. ``approvals_required`` of them (from different people) activate a request."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    request = models.ForeignKey(AccessRequest, on_delete=models.CASCADE, related_name="approvals")
    approver = models.CharField(max_length=64)
    at = models.DateTimeField(default=timezone.now)
    comment = models.TextField(blank=True, default="", max_length=2000)

    class Meta:
        ordering = ("at", "id")
        constraints = [models.UniqueConstraint(fields=("request", "approver"), name="approval_once_per_approver")]

    def __str__(self):
        return f"{self.approver} approved {self.request_id}"
