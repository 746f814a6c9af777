"""Request context (actor, request id, client IP, user agent) carried in a contextvar for every write."""

import contextlib
import uuid
from contextvars import ContextVar
from dataclasses import dataclass, replace

SYSTEM_ACTOR = "system"


@dataclass(frozen=True)
class RequestContext:
    actor: str = SYSTEM_ACTOR
    actor_type: str = "system"
    request_id: str = ""
    ip: str | None = None
    user_agent: str = ""


_current = ContextVar("iam_request_context", default=RequestContext())


def get_context() -> RequestContext:
    return _current.get()


@contextlib.contextmanager
def request_context(actor=SYSTEM_ACTOR, actor_type=None, request_id=None, ip=None, user_agent=""):
    """Set the context for the block; always restored in ``finally``. ``actor`` is an iam_id or 'system'."""
    if actor_type is None:
        actor_type = "system" if actor == SYSTEM_ACTOR else "principal"
    token = _current.set(
        RequestContext(
            actor=actor,
            actor_type=actor_type,
            request_id=request_id or uuid.uuid4().hex,
            ip=ip,
            user_agent=user_agent[:512],
        )
    )
    try:
        yield _current.get()
    finally:
        _current.reset(token)


def set_actor(actor, actor_type):
    """Name the authenticated identity once authentication has run (DRF authenticates lazily)."""
    _current.set(replace(_current.get(), actor=actor, actor_type=actor_type))
