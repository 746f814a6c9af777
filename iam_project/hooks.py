"""Signals the shared plumbing sends, so that apps (audit) can listen without being imported here."""

from django.dispatch import Signal

# sent with: request, identity, permission (None when a service refused), decision, reason
access_denied = Signal()


def emit_access_denied(request, identity, permission, decision=None, reason=""):
    access_denied.send(sender=None, request=request, identity=identity, permission=permission,
                       decision=decision, reason=reason)


# sent with: identity, reason — everything issued to the identity so far must stop working now
# (suspension, deletion, password reset, an email changed by someone else). The app that issues
# tokens revokes them in a receiver, inside the sender's transaction.
credentials_invalidated = Signal()


def invalidate_credentials(identity, reason):
    credentials_invalidated.send(sender=None, identity=identity, reason=reason)


# sent by ``manage.py bootstrap`` once the system roles exist, inside its transaction: apps make what they
# need at first start (the IBM face its account) and may return one line for the operator to read.
bootstrapped = Signal()


def emit_bootstrapped():
    """The lines the receivers of ``bootstrapped`` returned (falsy answers left out), in app order."""
    return [line for _, line in bootstrapped.send(sender=None) if line]
