"""Sessions of a principal — its sign-ins and its OAuth grants — listed and revoked.

A revocation deletes the session from the session store, or the access token (and its refresh-token
family) from django-oauth-toolkit's tables, so it takes effect on the very next request: the session
cookie then names nothing, the bearer token is unknown. Session keys and token values are bearer
credentials: never returned, logged or audited; the API names each entry by an id of its own.
"""

import logging
from dataclasses import dataclass
from datetime import datetime
from importlib import import_module

from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from oauth2_provider.models import get_access_token_model, get_refresh_token_model

import audit
from iam_project.errors import InvalidInput, NotFound
from roles.authority import ensure_can_manage, is_same_identity

from .models import SignInSession

logger = logging.getLogger(__name__)

SIGN_IN, ACCESS_TOKEN, REFRESH_TOKEN = "signIn", "accessToken", "refreshToken"
_PREFIX = {ACCESS_TOKEN: "at-", REFRESH_TOKEN: "rt-"}
MAX_LISTED = 500


@dataclass
class SessionEntry:
    id: str
    type: str
    created_at: datetime
    expires_at: datetime | None
    ip: str | None = None
    user_agent: str = ""
    client_id: str | None = None
    client_name: str | None = None
    scopes: tuple = ()
    current: bool = False


def _store(session_key=None):
    return import_module(settings.SESSION_ENGINE).SessionStore(session_key=session_key)


def record_sign_in(request, principal):
    """Remember that the request's (new) session belongs to ``principal``. Called on every sign-in."""
    session = getattr(request, "session", None)
    if session is None or getattr(principal, "identity_type", None) != "principal":
        return
    if not session.session_key:
        session.save()
    SignInSession.objects.update_or_create(
        session_key=session.session_key,
        defaults={"principal": principal, "ip": getattr(request, "client_ip", None) or None,
                  "user_agent": request.META.get("HTTP_USER_AGENT", "")[:512]},
    )


def forget_sign_in(session_key):
    """The session ended (sign-out): its record goes with it."""
    if session_key:
        SignInSession.objects.filter(session_key=session_key).delete()


def _live_session(record, principal):
    """The session's expiry when it still signs ``principal`` in, else None (gone, expired, or no longer
    valid because the password or the security stamp changed)."""
    store = _store(record.session_key)
    if not store.exists(record.session_key):
        return None
    data = store.load()  # an expired session loads as empty
    if data.get(SESSION_KEY) != str(principal.pk):
        return None
    if not constant_time_compare(data.get(HASH_SESSION_KEY, ""), principal.get_session_auth_hash()):
        return None
    return store.get_expiry_date()


def list_sessions(principal, current_session_key=None, current_token=None):
    """The principal's active sign-in sessions and OAuth grants, newest first (at most MAX_LISTED).
    Records of sessions that ended on their own (expired, password changed) are deleted on the way."""
    entries, ended = [], []
    for record in SignInSession.objects.filter(principal=principal):
        expires = _live_session(record, principal)
        if expires is None:
            ended.append(record.pk)
            continue
        entries.append(SessionEntry(id=str(record.pk), type=SIGN_IN, created_at=record.created_at, expires_at=expires,
                                    ip=record.ip, user_agent=record.user_agent,
                                    current=current_session_key is not None and record.session_key == current_session_key))
    if ended:
        SignInSession.objects.filter(pk__in=ended).delete()
    now = timezone.now()
    access = get_access_token_model().objects.filter(user=principal, expires__gt=now).select_related("application")
    for token in access.order_by("-created")[:MAX_LISTED]:
        entries.append(_token_entry(ACCESS_TOKEN, token, token.expires, current_token))
    # A refresh token whose access token has expired or been rotated away still grants new ones.
    refresh = get_refresh_token_model().objects.filter(user=principal, revoked__isnull=True,
                                                       access_token__isnull=True).select_related("application")
    for token in refresh.order_by("-created")[:MAX_LISTED]:
        entries.append(_token_entry(REFRESH_TOKEN, token, None, None))
    entries.sort(key=lambda e: e.created_at, reverse=True)
    return entries[:MAX_LISTED]


def _token_entry(kind, token, expires, current_token):
    application = token.application
    return SessionEntry(
        id=f"{_PREFIX[kind]}{token.pk}", type=kind, created_at=token.created, expires_at=expires,
        client_id=application.client_id if application else None, client_name=application.name if application else None,
        scopes=tuple((getattr(token, "scope", "") or "").split()) if kind == ACCESS_TOKEN else (),
        current=current_token is not None and getattr(current_token, "pk", None) == token.pk and kind == ACCESS_TOKEN,
    )


def _revoke_refresh(token):
    """A refresh token and everything rotated from the same grant (its family), with their access tokens."""
    family = getattr(token, "token_family", None)
    if family:
        type(token).revoke_family(family)
    else:
        token.revoke()


def revoke_session(actor, principal_pk, session_id, current_session_key=None, current_token=None):
    """End one session of a principal: a sign-in (deleted from the session store) or an OAuth grant (its
    access token deleted, its refresh-token family revoked). The owner may end its own; anyone else needs
    to be able to manage the principal (roles.authority.ensure_can_manage) — the caller checks the API
    permission. The session or token the request itself is made with is refused (400): one signs out of
    it instead (the console's or the OAuth sign-out, RFC 7009 revocation), rather than cutting the branch
    one sits on mid-request. Writes: the deletions and one ``session.revoked`` audit event (no key or
    token value)."""
    with transaction.atomic():
        principal = get_user_model().objects.filter(pk=principal_pk).first()
        if principal is None:
            raise NotFound("No such principal.")
        if not is_same_identity(actor, principal):
            ensure_can_manage(actor, principal)
        if _is_current(principal, session_id, current_session_key, current_token):
            raise InvalidInput({"sessionId": ["This is the session this request is made with: sign out of it instead."]})
        kind = _revoke(principal, session_id)
        audit.record("session.revoked", principal, details={"session": session_id, "type": kind})
    logger.info("session.revoked principal=%s session=%s type=%s", principal.iam_id, session_id, kind)
    return kind


def _is_current(principal, session_id, current_session_key, current_token):
    if current_token is not None and getattr(current_token, "user_id", None) == principal.pk:
        refresh = get_refresh_token_model().objects.filter(access_token=current_token).values_list("pk", flat=True)
        return session_id in {f"{_PREFIX[ACCESS_TOKEN]}{current_token.pk}", *(f"{_PREFIX[REFRESH_TOKEN]}{pk}" for pk in refresh)}
    if current_session_key:
        return SignInSession.objects.filter(pk=_uuid_or_none(session_id), principal=principal,
                                            session_key=current_session_key).exists()
    return False


def _uuid_or_none(value):
    import uuid

    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def _revoke(principal, session_id):
    session_id = str(session_id)
    for kind, prefix in _PREFIX.items():
        if session_id.startswith(prefix):
            number = session_id[len(prefix):]
            if not number.isdigit() or len(number) > 18:
                break
            model = get_access_token_model() if kind == ACCESS_TOKEN else get_refresh_token_model()
            rows = model.objects.select_for_update().filter(pk=int(number), user=principal)
            if kind == REFRESH_TOKEN:
                rows = rows.filter(revoked__isnull=True)
            token = rows.first()
            if token is None:
                break
            if kind == ACCESS_TOKEN:
                refresh = get_refresh_token_model().objects.filter(access_token=token, revoked__isnull=True).first()
                if refresh is not None:
                    _revoke_refresh(refresh)
                else:
                    token.revoke()
            else:
                _revoke_refresh(token)
            return kind
    else:
        record = _sign_in_record(principal, session_id)
        if record is not None:
            _store(record.session_key).delete(record.session_key)
            record.delete()
            return SIGN_IN
    raise NotFound("No such session.")


def _sign_in_record(principal, session_id):
    pk = _uuid_or_none(session_id)
    if pk is None:
        return None
    return SignInSession.objects.select_for_update().filter(pk=pk, principal=principal).first()
