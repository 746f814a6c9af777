"""The audit trail: append-only, hash-chained events, and the head of each chain lane."""

import uuid

from django.core.exceptions import PermissionDenied
from django.db import models

GENESIS_HASH = "0" * 64


class AppendOnlyQuerySet(models.QuerySet):
    """Bulk UPDATE and DELETE are refused here as well as by the database trigger."""

    def update(self, **kwargs):
        raise PermissionDenied("Audit events are append-only.")

    def delete(self):
        raise PermissionDenied("Audit events are append-only.")

    _raw_delete = delete


class AuditEvent(models.Model):
    """One recorded fact. ``hash = SHA-256(prev_hash + canonical JSON)`` chains the events of a lane."""

    seq = models.BigAutoField(primary_key=True)
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    at = models.DateTimeField(db_index=True)
    actor = models.CharField(max_length=64, db_index=True)
    actor_type = models.CharField(max_length=16)
    action = models.CharField(max_length=64)
    target_type = models.CharField(max_length=64, blank=True, default="")
    target_id = models.CharField(max_length=255, blank=True, default="")
    target_repr = models.CharField(max_length=255, blank=True, default="")
    changes = models.JSONField(default=dict, blank=True)
    details = models.JSONField(default=dict, blank=True)
    request_id = models.CharField(max_length=128, blank=True, default="", db_index=True)
    ip = models.CharField(max_length=45, blank=True, default="")
    user_agent = models.CharField(max_length=512, blank=True, default="")
    lane = models.PositiveSmallIntegerField()
    position = models.PositiveBigIntegerField()
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ("-seq",)
        indexes = [models.Index(fields=("target_type", "target_id", "seq"), name="audit_target_idx")]
        constraints = [models.UniqueConstraint(fields=("lane", "position"), name="audit_lane_position_uniq")]

    def __str__(self):
        return f"#{self.seq} {self.action} {self.target_type}:{self.target_id} by {self.actor}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise PermissionDenied("Audit events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionDenied("Audit events are append-only.")


class ChainHead(models.Model):
    """The last hash and length of one lane; its row lock orders the lane's appends."""

    lane = models.PositiveSmallIntegerField(primary_key=True)
    hash = models.CharField(max_length=64, default=GENESIS_HASH)
    length = models.PositiveBigIntegerField(default=0)

    def __str__(self):
        return f"lane {self.lane}: {self.length} events, head {self.hash[:12]}"


class ChainVerification(models.Model):
    """The outcome of each run of ``audit_verify``: the console's dashboard shows the last one."""

    at = models.DateTimeField(db_index=True)
    ok = models.BooleanField()
    events = models.PositiveBigIntegerField(default=0)
    first_break = models.CharField(max_length=512, blank=True, default="")

    class Meta:
        ordering = ("-at",)
        get_latest_by = "at"

    def __str__(self):
        return f"{'OK' if self.ok else 'BROKEN'} at {self.at:%Y-%m-%d %H:%M:%S}"
