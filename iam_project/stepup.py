"""How an identity authenticated (auth_time, amr, acr), and the step-up check privileged operations make.

A session keeps what its sign-in proved (``AMR_SESSION_KEY``, ``AUTH_TIME_SESSION_KEY``); an access token
carries it in its claims (``auth_time``, ``amr``, ``acr``, RFC 9068 §2.2.1). Authentication reads either
into the access context, and ``require_step_up`` — called by the services that grant power (approving or
activating a just-in-time grant, creating an API key, changing roles, changing security settings) —
refuses a principal whose last second factor is older than ``IAM["MFA_STEP_UP_MINUTES"]``: RFC 9470's
``insufficient_user_authentication`` on the API, a redirect to re-verify in the console.
"""

import base64
import json
import time
from dataclasses import dataclass

from .conf import iam_settings
from .context import get_context
from .errors import IAMError

# When the session's user last actively authenticated (seconds since the epoch): the ID token's
# auth_time, the yardstick for max_age and for step-up. (The value of clients.signals' key, kept.)
AUTH_TIME_SESSION_KEY = "oauth_auth_time"
# The methods that authentication used (RFC 8176 values): ["pwd"], ["pwd", "otp", "mfa"], ["hwk", "mfa"], ...
AMR_SESSION_KEY = "iam_amr"

ACR_PASSWORD = "urn:portcullis:acr:pwd"   # one factor
ACR_MFA = "urn:portcullis:acr:mfa"        # two factors (a password and a second factor, or a verified passkey)
ACR_VALUES = (ACR_PASSWORD, ACR_MFA)

STEP_UP_ERROR = "insufficient_user_authentication"


@dataclass(frozen=True)
class Authentication:
    """What the current identity's authentication proved. ``auth_time`` None: unknown (a refreshed
    token, a client's own token)."""

    auth_time: float | None = None
    amr: tuple = ()

    @property
    def multi_factor(self):
        return "mfa" in self.amr

    @property
    def acr(self):
        if self.multi_factor:
            return ACR_MFA
        return ACR_PASSWORD if self.amr else None

    def satisfies(self, acr):
        """Does this authentication meet the requested ``acr``?"""
        if acr == ACR_MFA:
            return self.multi_factor
        if acr == ACR_PASSWORD:
            return bool(self.amr)
        return False

    def age(self, now=None):
        if self.auth_time is None:
            return None
        return (now or time.time()) - self.auth_time


def from_session(session):
    """The authentication a signed-in session holds (empty when it holds none)."""
    if session is None:
        return Authentication()
    auth_time = session.get(AUTH_TIME_SESSION_KEY)
    amr = session.get(AMR_SESSION_KEY)
    return Authentication(
        auth_time=float(auth_time) if isinstance(auth_time, (int, float)) else None,
        amr=tuple(str(m) for m in amr) if isinstance(amr, list) else (),
    )


def from_session_values(auth_time, amr):
    """An authentication from stored values (an authorization code's): bad values count as none."""
    return Authentication(
        auth_time=float(auth_time) if isinstance(auth_time, (int, float)) and not isinstance(auth_time, bool) else None,
        amr=tuple(str(m) for m in amr) if isinstance(amr, (list, tuple)) else (),
    )


def record_in_session(session, amr, auth_time=None):
    """Remember a completed authentication in the session. Side effect: writes two session keys."""
    session[AUTH_TIME_SESSION_KEY] = auth_time if auth_time is not None else time.time()
    session[AMR_SESSION_KEY] = list(dict.fromkeys(amr))


def token_claims(value):
    """The claims of one of the server's JWT access tokens, read without checking the signature:
    callers only pass a token value the server found stored under that very value's checksum, so the
    text is the one it signed. Empty for anything else."""
    try:
        payload = value.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (AttributeError, IndexError, ValueError, TypeError):
        return {}
    return claims if isinstance(claims, dict) else {}


def from_token_claims(claims):
    auth_time = claims.get("auth_time")
    amr = claims.get("amr")
    return Authentication(
        auth_time=float(auth_time) if isinstance(auth_time, (int, float)) and not isinstance(auth_time, bool) else None,
        amr=tuple(str(m) for m in amr) if isinstance(amr, list) else (),
    )


def step_up_seconds():
    """How recent a second factor must be for a privileged operation; None: step-up is off."""
    minutes = iam_settings.MFA_STEP_UP_MINUTES
    return None if minutes is None else int(float(minutes) * 60)


class StepUpRequired(IAMError):
    """The operation needs a second factor verified within the step-up window (RFC 9470)."""

    status = 401
    title = "Step-up authentication required"
    code = STEP_UP_ERROR

    def __init__(self, detail):
        super().__init__(detail)
        seconds = step_up_seconds() or 0
        self.headers = {"WWW-Authenticate": (
            f'Bearer error="{STEP_UP_ERROR}", error_description="{detail}", '
            f'acr_values="{ACR_MFA}", max_age="{seconds}"')}


def is_recent_multi_factor(authentication, now=None):
    seconds = step_up_seconds()
    if seconds is None:
        return True
    age = authentication.age(now)
    return authentication.multi_factor and age is not None and -60 <= age <= seconds


# Who can step up at all: the app that knows second factors registers it (``register_applies``); a
# principal with no factor has nothing to verify. Until one is registered, every principal is asked.
_applies = None


def register_applies(check):
    """``check(principal)`` -> bool: does step-up apply to this principal (has it a second factor)?"""
    global _applies
    _applies = check


def require_step_up(actor, what):
    """Refuse ``what`` unless the acting principal verified a second factor within the step-up window.

    Applies to people acting through a sign-in or a token (the access context holds an
    authentication): programs (clients) have no second factor, operator commands and tasks act
    without a sign-in, and a principal with no second factor has none to verify (where the policy
    requires one it cannot sign in without enrolling). Raises StepUpRequired (401) otherwise; no side effect."""
    context = get_context()
    authentication = getattr(context, "authentication", None)
    if authentication is None or actor is None or getattr(actor, "identity_type", None) != "principal":
        return
    if not context.is_acting(actor) or is_recent_multi_factor(authentication):
        return
    if _applies is not None and not _applies(actor):
        return
    minutes = iam_settings.MFA_STEP_UP_MINUTES
    raise StepUpRequired(f"To {what}, verify a second factor (one verified in the last {minutes:g} minutes counts).")


class StepUpRedirectMiddleware:
    """A page (the console, the account pages) whose operation asked for step-up sends the browser to
    verify a second factor, then back to the page (a POSTed action is then made again by the person).
    The APIs answer StepUpRequired themselves (401 with the RFC 9470 challenge) and never get here."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, StepUpRequired):
            return None
        from django.http import HttpResponseRedirect
        from django.urls import reverse
        from django.utils.http import urlencode

        back = request.get_full_path() if request.method == "GET" else request.path
        return HttpResponseRedirect(f"{reverse('mfa-verify')}?{urlencode({'next': back})}")
