"""Writing events: ``record`` for facts that are not model writes, ``record_change`` for model writes.

Both write in the caller's transaction (so a rolled-back change leaves no event) and take the
actor, request id, IP and user agent from the request context.
"""

import logging

from django.db import transaction
from django.utils import timezone

from iam_project.context import get_context

from . import chain
from .models import AuditEvent
from .registry import to_json

logger = logging.getLogger(__name__)
MODEL_ACTIONS = {"create", "update", "delete"}


def _write(event):
    if transaction.get_connection().in_atomic_block:
        with transaction.atomic(savepoint=False):
            return chain.append(event)
    # Every platform write runs in a transaction; this only catches a stray autocommit write,
    # which is still recorded (in its own transaction) rather than dropped. Facts that are not
    # writes (a sign-in, a refusal after its rollback) stand alone by nature.
    if event.action in MODEL_ACTIONS:
        logger.warning("audit.outside_transaction action=%s target_type=%s", event.action, event.target_type)
    with transaction.atomic():
        return chain.append(event)


def record(action, target=None, *, target_type="", target_id="", target_repr="", changes=None,
           details=None, actor=None, actor_type=None):
    """Record one event. ``target`` is a model instance (its audited type, id and name are used)
    or None with ``target_type``/``target_id`` given. ``actor`` overrides the context's actor.
    Writes one AuditEvent row and moves its lane's head."""
    if target is not None:
        from .registry import entry_for

        entry = entry_for(type(target))
        target_type = target_type or (entry.target_type if entry else type(target)._meta.model_name)
        target_id = target_id or str(target.pk)
        if not target_repr and entry:
            target_repr = entry.describe(target)
    context = get_context()
    if actor is not None and actor_type is None:
        actor_type = "system" if actor == "system" else "principal"
    event = AuditEvent(
        at=timezone.now(),
        actor=actor or context.actor,
        actor_type=actor_type or context.actor_type,
        action=action,
        target_type=target_type,
        target_id=str(target_id)[:255],
        target_repr=str(target_repr)[:255],
        changes=to_json(changes or {}),
        details=to_json(details or {}),
        request_id=context.request_id or "",
        ip=context.ip or "",
        user_agent=context.user_agent or "",
    )
    return _write(event)
