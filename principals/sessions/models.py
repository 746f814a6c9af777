"""SignInSession: which Django session belongs to which principal, written when the principal signs in."""

import uuid

from django.conf import settings
from django.db import models


class SignInSession(models.Model):
    """One sign-in (console, OAuth sign-in page): the session store's key — a bearer credential, never shown
    nor audited, the API names the row by ``id`` — with where and when it began."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    principal = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sign_in_sessions")
    session_key = models.CharField(max_length=40, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True, default="")

    class Meta:
        ordering = ("-created_at", "id")
        indexes = [models.Index(fields=("principal", "created_at"))]

    def __str__(self):
        return f"sign-in of {self.principal_id} at {self.created_at:%Y-%m-%d %H:%M}"
