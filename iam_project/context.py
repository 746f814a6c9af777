"""The access context: who is acting, with which token scopes, from where, when, in which request.

Built once per request (``RequestContextMiddleware``, completed by authentication), per Celery task
(``task_prerun``) and per management command (``IAMCommand``), and held in a contextvar. The engine's
decisions and every least-privilege check read it, and the audit trail records from it — so a
scoped token can do no more through a service, the console or the IBM face than its scopes allow,
and an IP-conditioned binding is judged by the request's address everywhere.
"""

import contextlib
import uuid
from contextvars import ContextVar
from dataclasses import dataclass, replace
from datetime import datetime

SYSTEM_ACTOR = "system"


@dataclass(frozen=True)
class AccessContext:
    actor: str = SYSTEM_ACTOR          # iam_id of the acting identity, 'anonymous' or 'system' (audit)
    actor_type: str = "system"
    request_id: str = ""
    ip: str | None = None              # the client's address (behind trusted proxies: the real one)
    user_agent: str = ""
    identity: object = None            # the authenticated principal or client; None for the platform
    scopes: tuple | None = None        # the access token's scopes; None: full (a session, a task, a command)
    at: datetime | None = None         # the moment decisions are made for; None: the clock
    # How the identity authenticated (iam_project.stepup.Authentication): set for every request (empty
    # until a session or token names it); None where nobody signed in — a command, a task.
    authentication: object = None

    def is_acting(self, identity):
        """Is ``identity`` the one this context acts as? Its scopes and address apply only to it."""
        acting = self.identity
        return (acting is not None and identity is not None
                and getattr(acting, "identity_type", None) == getattr(identity, "identity_type", None)
                and acting.pk == identity.pk)

    def scopes_for(self, identity):
        """The token scopes that cap ``identity``'s power here: the context's, when it is the one acting."""
        return self.scopes if self.scopes is not None and self.is_acting(identity) else None

    def conditions(self):
        """What binding conditions are judged against: the request's address and moment."""
        return {"ip": self.ip, "time": self.at}


# Kept for the audit trail's vocabulary: every context is a request context too.
RequestContext = AccessContext

_current = ContextVar("iam_access_context", default=AccessContext())


def get_context() -> AccessContext:
    return _current.get()


@contextlib.contextmanager
def request_context(actor=SYSTEM_ACTOR, actor_type=None, request_id=None, ip=None, user_agent="", identity=None,
                    scopes=None, authentication=None):
    """Set the context for the block; always restored in ``finally``. ``actor`` is an iam_id or 'system';
    ``identity`` the acting principal or client, when known (commands run with ``--actor``)."""
    if identity is not None:
        actor, actor_type = identity.iam_id, identity.identity_type
    if actor_type is None:
        actor_type = "system" if actor == SYSTEM_ACTOR else "principal"
    token = _current.set(
        AccessContext(
            actor=actor,
            actor_type=actor_type,
            request_id=request_id or uuid.uuid4().hex,
            ip=ip,
            user_agent=user_agent[:512],
            identity=identity,
            scopes=tuple(scopes) if scopes is not None else None,
            authentication=authentication,
        )
    )
    try:
        yield _current.get()
    finally:
        _current.reset(token)


def authenticate(identity, scopes=None, authentication=None):
    """Name the authenticated identity once authentication has run (DRF authenticates lazily), with
    its access token's scopes (None for a session: full) and how it authenticated (kept when not given)."""
    current = _current.get()
    _current.set(replace(current, actor=identity.iam_id, actor_type=identity.identity_type,
                         identity=identity, scopes=tuple(scopes) if scopes is not None else None,
                         authentication=authentication if authentication is not None else current.authentication))


def set_actor(actor, actor_type):
    """Name the actor for the audit trail only (e.g. the sign-in form, before a session exists)."""
    _current.set(replace(_current.get(), actor=actor, actor_type=actor_type))


@contextlib.contextmanager
def acting_as(identity, ip=None, at=None):
    """The context as if ``identity`` acted itself through a session (no token cap), from ``ip`` at ``at``
    — for answering "may X do this?" on X's behalf (the access checker) without the asker's address or
    token scopes leaking into the answer. The audit actor stays the asker's. Restored in ``finally``."""
    token = _current.set(replace(_current.get(), identity=identity, scopes=None, ip=ip, at=at))
    try:
        yield _current.get()
    finally:
        _current.reset(token)
