"""Model plumbing shared by the apps: the versioned (ETag-carrying) model and a JSON size guard."""

import json

from django.core.exceptions import ValidationError
from django.db import models

from .conf import iam_settings
from .outbox import OutboxMessage  # noqa: F401  (the outbox's model, loaded with this app's models)


class VersionedModel(models.Model):
    """A row with a version, bumped by every save, from which the API derives its ETag."""

    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            self.version = (self.version or 0) + 1
            update_fields = kwargs.get("update_fields")
            if update_fields is not None:
                extra = {"version"} | {f.name for f in self._meta.concrete_fields if getattr(f, "auto_now", False)}
                kwargs["update_fields"] = set(update_fields) | extra
        super().save(*args, **kwargs)

    @property
    def etag(self):
        return f'"{self.version}"'


def validate_properties(value):
    """Free-form properties must be a JSON object of bounded size."""
    if not isinstance(value, dict):
        raise ValidationError("Must be a JSON object.", code="invalid")
    size = len(json.dumps(value, separators=(",", ":")).encode())
    limit = iam_settings.MAX_PROPERTIES_BYTES
    if size > limit:
        raise ValidationError(f"Must be at most {limit} bytes of JSON (got {size}).", code="max_size")


class TimestampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
