"""The sign-in's second step: after a correct password nobody is signed in yet; the session holds a pending
sign-in until a second factor (or, where the policy requires one and none exists, an enrolment) completes it.

Both sign-in pages hand over here (the console's through ``iam_project.signin``, the OAuth server's
directly). Completing calls Django's ``login`` once, with the methods used (``amr``) — so a session is
never half signed in, the session key is renewed at that moment, and ``auth_time`` is when it happened.
A failed second factor counts toward the sign-in lock-out (django-axes) like a wrong password.
"""

import logging
import time

from django.contrib.auth import login as auth_login
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django_otp import login as otp_login

from iam_project.conf import iam_settings
from iam_project.context import authenticate
from iam_project.stepup import from_session, record_in_session

from . import services

logger = logging.getLogger(__name__)

PENDING_KEY = "mfa_pending"
# Set on the request by whoever completes a sign-in, read by the user_logged_in receiver.
AMR_REQUEST_ATTRIBUTE = "iam_amr"


def begin(request, user, redirect_to, face):
    """The registered second step (``iam_project.signin``): None when the principal has no factor and
    needs none (sign in now, with a password alone); otherwise remember the pending sign-in and send
    the browser to verify a factor — or to enrol one, where the policy requires it and there is none."""
    need = services.requirement(user)
    enrolled = services.is_enrolled(user)
    has_recovery = any(f.kind == "recovery" for f in services.factors(user))
    if not need.required and not enrolled and not has_recovery:
        return None
    usable = services.is_enrolled(user, need.passkey_only) or has_recovery
    enrol = need.required and not usable
    request.session[PENDING_KEY] = {
        "principal": str(user.pk), "hash": user.get_session_auth_hash(), "at": time.time(),
        "next": redirect_to, "face": face, "backend": getattr(user, "backend", None), "enrol": enrol,
        "passkeyOnly": need.passkey_only,
    }
    logger.info("mfa.pending iam_id=%s enrol=%s face=%s", user.iam_id, enrol, face)
    target = reverse("mfa-enrol" if enrol else "mfa-verify")
    return redirect(f"{target}?{urlencode({'next': redirect_to})}" if redirect_to else target)


def pending(request):
    """The pending sign-in's (principal, state), or (None, None) when there is none or it no longer
    holds: expired, the principal suspended or gone, its password or security stamp changed since."""
    from django.contrib.auth import get_user_model

    state = request.session.get(PENDING_KEY)
    if not isinstance(state, dict):
        return None, None
    if time.time() - float(state.get("at") or 0) > iam_settings.MFA_PENDING_SECONDS:
        request.session.pop(PENDING_KEY, None)
        return None, None
    principal = get_user_model().objects.filter(pk=state.get("principal")).first()
    if principal is None or not principal.is_active or principal.get_session_auth_hash() != state.get("hash"):
        request.session.pop(PENDING_KEY, None)
        return None, None
    return principal, state


def drop(request):
    request.session.pop(PENDING_KEY, None)


def complete(request, principal, state, amr, device=None):
    """Sign the pending principal in (``amr``: the methods used), then on to where the sign-in was going.
    Side effects: Django's login (new session key, ``login.succeeded``), the session's amr/auth_time."""
    drop(request)
    setattr(request, AMR_REQUEST_ATTRIBUTE, amr)
    auth_login(request, principal, backend=state.get("backend") or "principals.backends.PrincipalBackend")
    if device is not None:
        otp_login(request, device)  # django-otp's own record of the verified device
    return state.get("next") or reverse("mfa-manage")


def step_up(request, amr_added, device=None):
    """A signed-in principal verified a factor again: the session's authentication is now this moment,
    with the methods it had plus the factor's. Side effect: writes the session keys."""
    current = from_session(request.session)
    record_in_session(request.session, list(current.amr or ("pwd",)) + list(amr_added))
    if device is not None:
        otp_login(request, device)
    # The rest of this request acts with the renewed authentication too (the access context read the old one).
    authenticate(request.user, authentication=from_session(request.session))


def handle_user_logged_in(sender, request, user, **kwargs):
    """Every sign-in records how it was made: the methods its completer named, else a password alone."""
    session = getattr(request, "session", None)
    if session is None:
        return
    amr = getattr(request, AMR_REQUEST_ATTRIBUTE, None) or ["pwd"]
    record_in_session(session, amr)
