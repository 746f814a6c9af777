"""Signals the shared plumbing sends, so that apps (audit) can listen without being imported here."""

from django.dispatch import Signal

# sent with: request, identity, permission (None when a service refused), decision, reason
access_denied = Signal()


def emit_access_denied(request, identity, permission, decision=None, reason=""):
    access_denied.send(sender=None, request=request, identity=identity, permission=permission,
                       decision=decision, reason=reason)
