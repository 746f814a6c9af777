"""Rate limits: failed attempts and request floods on the credential endpoints, and each identity's API rate.

Counters live in Django's cache — Redis in production — so that every web process shares one
count; django-ratelimit keeps them (fixed windows, atomic increments). The credential endpoints
and what counts as a failed attempt on each are listed once, in ``CREDENTIAL_ENDPOINTS``; the
limits are settings (``IAM_RATE_LIMITS``, each with an environment override, see settings.py).

Two kinds of counts, so that guessing stops long before legitimate load is touched:

* failed credential attempts, per client IP and per credential named (client id, API-key prefix,
  identity): tight (10 per 5 minutes by default); once reached, the IP or the credential is
  answered 429 — right secret or not — until the window passes;
* all requests to the credential endpoints per IP: generous (60,000 a minute by default), far
  above a busy client-credentials caller, to stop a flood rather than a user.

The sign-in forms' own failures are django-axes' business (see iam_project/lockout.py); their
requests still count towards the per-IP flood limit here.

When the shared cache cannot count (Redis down: iam_project.cache keeps these keys in local memory
while its breaker is open; any other backend failure: ``usage`` below), the counts and blocks go on
in the process's own memory, and that is logged once a minute at most (``ratelimit.fallback``).
"""

import base64
import binascii
import hashlib
import ipaddress
import json
import logging
import math
import time
from dataclasses import dataclass
from urllib.parse import unquote_plus

from django.conf import settings
from django.core.cache.backends.locmem import LocMemCache
from django.http import JsonResponse
from django_ratelimit.core import EXPIRATION_FUDGE, _get_window, _make_cache_key, _split_rate, get_usage
from rest_framework.throttling import BaseThrottle

from . import metrics
from .cache import ThrottledLog, register_count_ahead, take_count
from .middleware import client_ip

logger = logging.getLogger(__name__)

# When the shared cache fails (whatever its backend), counts go on in the process's own memory: each web
# process then limits on its own — weaker than one shared count, far better than none. The fallback is
# logged once a minute at most, not once per request.
_LOCAL = LocMemCache("portcullis-ratelimit-fallback", {"OPTIONS": {"MAX_ENTRIES": 100_000}})
_fallback_log = ThrottledLog(logger, 60)

DEFAULTS = {
    "CREDENTIAL_REQUESTS_PER_IP": "60000/m",
    "CREDENTIAL_FAILURES_PER_IP": "10/5m",
    "CREDENTIAL_FAILURES_PER_CREDENTIAL": "10/5m",
    "API_REQUESTS_PER_IDENTITY": "12000/m",
}

# What a failed attempt counts against: the client IP only (a guessed code or refresh token names
# no credential of its own), or the IP and the credential presented (a wrong client secret).
FAILED_IP = "ip"
FAILED_CREDENTIAL = "credential"


def rate(name):
    """The configured rate ("count/period", as django-ratelimit reads it), or None when turned off."""
    value = getattr(settings, "IAM_RATE_LIMITS", {}).get(name, DEFAULTS[name])
    return value or None


def _ip_key(request):
    """The client IP (behind trusted proxies, as everywhere else); an IPv6 client counts by its /64,
    the block one host can rotate through."""
    ip = getattr(request, "client_ip", None) or client_ip(request) or "unknown"
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if address.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False).network_address)
    return ip


def usage(request, group, value, limit, increment):
    """django-ratelimit's count for (group, value): {count, limit, time_left}, or None when limiting is
    off. When the shared cache fails, the count is kept in this process's memory instead (same windows)."""
    counter = getattr(_limiter_cache(), "count", None)
    if increment and counter is not None and getattr(settings, "RATELIMIT_ENABLE", True):
        return _counted(counter, group, value, limit)
    try:
        result = get_usage(request, group=group, key=lambda _group, _request: value, rate=limit,
                           increment=increment)
    except Exception as exc:  # any cache backend's failure (disk full, Redis down without the breaker)
        return _local_usage(group, value, limit, increment, reason=type(exc).__name__)
    if result is None:
        return None
    if result["limit"] == 0 and result["time_left"] == -1:  # django-ratelimit's "the cache did not count"
        return _local_usage(group, value, limit, increment, reason="count_unavailable")
    return result


def _counted(counter, group, value, limit, also=None):
    """django-ratelimit's count (same key, window and answer) in one round trip: the shared cache's ``count``
    increments and sets the expiry together, where django-ratelimit adds then increments (two). ``also``: keys
    to read in the same round trip (``counter`` is then the cache's ``count_and_get_many``); returns
    (usage, {key: value}) in that case."""
    key, count_limit, period, window = _count_key(group, value, limit)
    found = {}
    try:
        if also is None:
            count = counter(key, 1, period + EXPIRATION_FUDGE)
        else:
            count, found = counter(key, 1, period + EXPIRATION_FUDGE, list(also))
    except Exception as exc:  # noqa: BLE001  (as above: any failure of the shared cache)
        used = _local_usage(group, value, limit, True, reason=type(exc).__name__)
    else:
        used = (_local_usage(group, value, limit, True, reason="count_unavailable") if count is None else
                {"count": count, "limit": count_limit, "should_limit": count > count_limit,
                 "time_left": window - int(time.time())})
    return used if also is None else (used, found)


def _count_key(group, value, limit):
    """django-ratelimit's counter for (group, value) now: (key, limit's count, period, window's end)."""
    count_limit, period = _split_rate(limit)
    window = _get_window(value, period)
    return _make_cache_key(group, window, limit, value, get_usage.ALL), count_limit, period, window


def _fallback(reason, group):
    metrics.rate_limit_fallback()
    _fallback_log(logging.WARNING, "ratelimit.fallback reason=%s group=%s scope=process", reason, group)


def _local_usage(group, value, limit, increment, reason):
    """The same fixed-window count as django-ratelimit's (same key and window), in the process's memory."""
    _fallback(reason, group)
    count_limit, period = _split_rate(limit)
    window = _get_window(value, period)
    key = _make_cache_key(group, window, limit, value, None)
    if not increment:
        count = _LOCAL.get(key, 0)
    elif _LOCAL.add(key, 1, period + EXPIRATION_FUDGE):
        count = 1
    else:
        try:
            count = _LOCAL.incr(key)
        except ValueError:  # expired between add and incr
            _LOCAL.set(key, 1, period + EXPIRATION_FUDGE)
            count = 1
    return {"count": count, "limit": count_limit, "should_limit": count > count_limit,
            "time_left": window - int(time.time())}


# --- How each face says "too many" -----------------------------------------------------------------

def _retry_after(response, seconds):
    response["Retry-After"] = str(max(1, int(seconds)))
    return response


def oauth_refusal(request, seconds, detail):
    """OAuth's JSON error (RFC 6749 §5.2 shape), never cached."""
    response = JsonResponse({"error": "temporarily_unavailable", "error_description": detail}, status=429)
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    return _retry_after(response, seconds)


def ibm_refusal(request, seconds, detail):
    """The IBM face's error shape (its errors module's ``ibm_error``). Built here because the shared
    plumbing imports no app; tests/test_ratelimit.py checks that the two stay the same."""
    body = {"trace": getattr(request, "request_id", ""), "errors": [{"code": "too_many_requests", "message": detail}],
            "status_code": 429}
    return _retry_after(JsonResponse(body, status=429), seconds)


def problem_refusal(request, seconds, detail):
    """RFC 9457 problem details, as DRF's Throttled is answered on /resources/."""
    from .exceptions import PROBLEM_CONTENT_TYPE, PROBLEM_TYPE

    body = {"type": PROBLEM_TYPE + "throttled", "title": "Too many requests", "status": 429, "detail": detail}
    return _retry_after(JsonResponse(body, status=429, content_type=PROBLEM_CONTENT_TYPE), seconds)


def page_refusal(request, seconds, detail):
    """The sign-in pages' style, for a flood of sign-in posts."""
    from django.template.response import TemplateResponse

    response = TemplateResponse(request, "lockout.html", {"reason": detail, "retry_after": max(1, int(seconds))},
                                status=429)
    return _retry_after(response.render(), seconds)


# --- Which credential each endpoint names, and what counts as a failed attempt ----------------------

def _json(response):
    try:
        body = json.loads(response.content)
    except (ValueError, UnicodeDecodeError, AttributeError):
        return {}
    return body if isinstance(body, dict) else {}


def _form_value(request, name):
    """A field of a form body (url-encoded or multipart: the views parse both, so both are counted).
    Django keeps what it parsed, so the view reads the same body after us."""
    if request.content_type not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return ""
    try:
        return request.POST.get(name, "") or ""
    except Exception:  # noqa: BLE001  (an over-size or broken body is the view's to refuse, not ours)
        return ""


def oauth_client_id(request):
    """The client id presented, from HTTP Basic (RFC 6749 §2.3.1) or the body; never the secret."""
    scheme, _, value = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() == "basic" and value:
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return ""
        return unquote_plus(decoded.partition(":")[0])[:200]
    return _form_value(request, "client_id")[:200]


def oauth_token_failed(request, response):
    """A refused client authentication counts against the client id; a refused code or refresh
    token (``invalid_grant``) against the IP only — a public client's users would otherwise lock
    each other out with their stale refresh tokens."""
    if response.status_code not in (400, 401):
        return None
    error = _json(response).get("error")
    if response.status_code == 401 or error == "invalid_client":
        return FAILED_CREDENTIAL
    if error == "invalid_grant":
        return FAILED_IP
    return None


def oauth_client_auth_failed(request, response):
    """Introspection and revocation: a client that could not authenticate (401/403, invalid_client)."""
    if response.status_code in (401, 403) or (response.status_code == 400
                                                and _json(response).get("error") == "invalid_client"):
        return FAILED_CREDENTIAL
    return None


APIKEY_MARK = "pak_"


def apikey_prefix(request):
    """The API key's prefix (as the console and listings show it), only for a value shaped like a key."""
    if _form_value(request, "grant_type") != "urn:ibm:params:oauth:grant-type:apikey":
        return ""
    value = _form_value(request, "apikey")
    return value[:12] if value.startswith(APIKEY_MARK) else ""


# IBM's token errors: an API key not usable / a refresh token not usable.
IBM_APIKEY_REFUSED = {"BXNIM0415E"}
IBM_REFRESH_REFUSED = {"BXNIM0407E", "BXNIM0408E"}


def ibm_token_failed(request, response):
    if response.status_code not in (400, 401):
        return None
    body = _json(response)
    errors = body.get("errors") if isinstance(body.get("errors"), list) else []
    codes = {body.get("errorCode")} | {e.get("code") for e in errors if isinstance(e, dict)}
    if codes & IBM_APIKEY_REFUSED:
        return FAILED_CREDENTIAL
    if codes & IBM_REFRESH_REFUSED:
        return FAILED_IP
    return None


def identity_key(request):
    """The identity changing its password: the session's principal, or the bearer token's identity
    (DRF authenticates later than middleware, so the token is looked up here — one query)."""
    user = getattr(request, "user", None)
    if user is not None and getattr(user, "is_authenticated", False):
        return getattr(user, "iam_id", "") or ""
    scheme, _, token = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return ""
    from oauth2_provider.models import get_access_token_model

    checksum = hashlib.sha256(token.strip().encode("utf-8")).hexdigest()
    row = (get_access_token_model().objects.filter(token_checksum=checksum)
           .values_list("user__iam_id", "application__iam_id").first())
    return (row[0] or row[1] or "") if row else ""


def current_password_failed(request, response):
    if response.status_code == 400 and "currentPassword" in (_json(response).get("errors") or {}):
        return FAILED_CREDENTIAL
    return None


def page_current_password_failed(request, response):
    """The self-service password page marks a refused current password on its 400 response."""
    if response.status_code == 400 and getattr(response, "iam_current_password_failed", False):
        return FAILED_CREDENTIAL
    return None


@dataclass(frozen=True)
class CredentialEndpoint:
    path: str
    refusal: callable  # (request, seconds, detail) -> 429 response in the endpoint's face
    credential: callable = None  # request -> the credential named ("" when none); never a secret
    failed: callable = None  # (request, response) -> None, FAILED_IP or FAILED_CREDENTIAL
    kind: str = ""  # namespaces the credential's counter (client ids and key prefixes never mix)
    methods: tuple = ("POST",)


CREDENTIAL_ENDPOINTS = (
    CredentialEndpoint("/oauth/token/", oauth_refusal, oauth_client_id, oauth_token_failed, "client"),
    CredentialEndpoint("/oauth/introspect/", oauth_refusal, oauth_client_id, oauth_client_auth_failed, "client",
                       methods=("GET", "POST")),
    CredentialEndpoint("/oauth/revoke_token/", oauth_refusal, oauth_client_id, oauth_client_auth_failed, "client"),
    CredentialEndpoint("/identity/token", ibm_refusal, apikey_prefix, ibm_token_failed, "apikey"),
    CredentialEndpoint("/resources/me/password", problem_refusal, identity_key, current_password_failed,
                       "identity"),
    # The self-service page changes the same password: its failures count with the API's, per identity.
    CredentialEndpoint("/account/password/", page_refusal, identity_key, page_current_password_failed, "identity"),
    # Sign-in forms: failures and lock-out are django-axes'; only the flood limit applies here.
    CredentialEndpoint("/admin/login/", page_refusal),
    CredentialEndpoint("/oauth/login/", page_refusal),
)

_BY_PATH = {endpoint.path.rstrip("/"): endpoint for endpoint in CREDENTIAL_ENDPOINTS}


def endpoint_for(request):
    endpoint = _BY_PATH.get(request.path_info.rstrip("/"))
    if endpoint is None or request.method not in endpoint.methods:
        return None
    return endpoint


# --- The middleware ------------------------------------------------------------------------------

FAILURE_LIMITS = {
    # group: (setting, why a blocked request is refused)
    "credential-failures-ip": ("CREDENTIAL_FAILURES_PER_IP", "Too many failed attempts from this address."),
    "credential-failures": ("CREDENTIAL_FAILURES_PER_CREDENTIAL", "Too many failed attempts for this credential."),
}


def _limiter_cache():
    from django.core.cache import caches

    return caches[getattr(settings, "RATELIMIT_USE_CACHE", "default")]


def _block_key(group, value):
    """Where "blocked until" lives once a failure count reaches its limit: one read of both blocks
    per request (get_many), instead of reading each failure count."""
    digest = hashlib.sha256(f"{group}\0{value}".encode("utf-8")).hexdigest()
    return f"{getattr(settings, 'RATELIMIT_CACHE_PREFIX', 'rl:')}block:{digest}"


class Attempt:
    """One request to a credential endpoint: checked before the view (the flood count, and whether
    its IP or credential is blocked) and, when the view refused the credential, counted after it."""

    def __init__(self, request, endpoint):
        self.request = request
        self.endpoint = endpoint
        self.ip = _ip_key(request)
        self.credential = endpoint.credential(request) if endpoint.credential else ""
        self.refused_by = ""  # the limit that refused it (a metric label)

    def _blocks(self, credential):
        """(group, value) of each failure count this attempt is subject to."""
        yield "credential-failures-ip", self.ip
        if credential:
            yield "credential-failures", f"{self.endpoint.kind}:{credential}"

    def refused(self):
        """(seconds to wait, why) when a limit is reached, else None. Counts this request towards
        the per-IP flood limit."""
        if not getattr(settings, "RATELIMIT_ENABLE", True):
            return None
        flood = rate("CREDENTIAL_REQUESTS_PER_IP")
        keys = ({_block_key(group, value): group for group, value in self._blocks(self.credential)}
                if self.endpoint.failed is not None else {})
        blocked = None
        together = getattr(_limiter_cache(), "count_and_get_many", None)
        if flood and keys and together is not None:
            # the flood count and the blocks in one round trip (a failure: the local count, blocks below)
            used, blocked = _counted(together, "credential-requests", self.ip, flood, also=keys)
        elif flood:
            used = usage(self.request, "credential-requests", self.ip, flood, increment=True)
        if flood and used and used["count"] > used["limit"]:
            self.refused_by = "credential-requests"
            return used["time_left"], "Too many requests to the credential endpoints from this address."
        if not keys:
            return None
        if blocked is None:
            try:
                blocked = _limiter_cache().get_many(list(keys))
            except Exception as exc:  # the shared cache failed: the blocks this process set meanwhile
                _fallback(type(exc).__name__, "blocks")
                blocked = {}
        blocked.update({key: until for key, until in _LOCAL.get_many(list(keys)).items() if key not in blocked})
        now = time.time()
        for key, group in keys.items():
            until = blocked.get(key)
            if isinstance(until, (int, float)) and until > now:
                self.refused_by = group
                return math.ceil(until - now), FAILURE_LIMITS[group][1]
        return None

    def count_failure(self, response):
        """Count a refused credential against the IP (and the credential); a count reaching its
        limit blocks until its window passes."""
        outcome = self.endpoint.failed(self.request, response) if self.endpoint.failed else None
        if outcome is None:
            return
        # The identity changing its password is known for sure only once DRF has authenticated it.
        credential = ""
        if outcome == FAILED_CREDENTIAL:
            credential = self.credential or (self.endpoint.credential(self.request) if self.endpoint.credential
                                             else "")
        for group, value in self._blocks(credential):
            limit = rate(FAILURE_LIMITS[group][0])
            if not limit:
                continue
            used = usage(self.request, group, value, limit, increment=True)
            if used and used["count"] >= used["limit"]:
                seconds = max(1, used["time_left"])
                try:
                    _limiter_cache().set(_block_key(group, value), time.time() + seconds, seconds)
                except Exception as exc:  # the shared cache failed: block in this process at least
                    _fallback(type(exc).__name__, group)
                    _LOCAL.set(_block_key(group, value), time.time() + seconds, seconds)
                logger.warning("ratelimit.blocked group=%s path=%s ip=%s seconds=%s", group, self.endpoint.path,
                               self.ip, seconds)


class CredentialRateLimitMiddleware:
    """429 (with Retry-After, in the endpoint's face) before the view when a limit is reached;
    after the view, a refused credential is counted. Every other path passes untouched."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        endpoint = endpoint_for(request)
        if endpoint is None:
            return self.get_response(request)
        attempt = Attempt(request, endpoint)
        refused = attempt.refused()
        if refused is not None:
            seconds, why = refused
            metrics.rate_limited(attempt.refused_by)
            logger.warning("ratelimit.refused path=%s ip=%s kind=%s retry_after=%s", endpoint.path, attempt.ip,
                           endpoint.kind or "-", max(1, int(seconds)))
            return endpoint.refusal(request, seconds, f"{why} Retry after {max(1, int(seconds))} seconds.")
        response = self.get_response(request)
        attempt.count_failure(response)
        return response


# --- The API: each identity's request rate (DRF throttle) -------------------------------------------

class IdentityRateThrottle(BaseThrottle):
    """Requests per authenticated identity across /resources/ and the IBM face, counted in the
    shared cache. Unauthenticated requests are not this throttle's (the credential endpoints have
    theirs); a refusal is DRF's Throttled, answered 429 with Retry-After in each face's shape."""

    def allow_request(self, request, view):
        self._wait = None
        identity = getattr(request, "user", None)
        limit = rate("API_REQUESTS_PER_IDENTITY")
        if not limit or identity is None or not getattr(identity, "is_authenticated", False):
            return True
        iam_id = getattr(identity, "iam_id", "")
        key, count_limit, _, window = _count_key("api-identity", iam_id, limit)
        count = take_count(key)  # made with the bearer token's read (authcache), in the same round trip
        if count is not None:
            used = {"count": count, "limit": count_limit, "time_left": window - int(time.time())}
        else:
            used = usage(request._request, "api-identity", iam_id, limit, increment=True)
        if used and used["count"] > used["limit"]:
            metrics.rate_limited("api-identity")
            self._wait = max(1, used["time_left"])
            logger.warning("ratelimit.refused path=%s identity=%s retry_after=%s", request.path, identity.iam_id,
                           self._wait)
            return False
        return True

    def wait(self):
        return self._wait


def identity_count_ahead(iam_id):
    """(key, timeout) of the count ``IdentityRateThrottle`` makes for a request authenticated as ``iam_id``,
    for the bearer token's read to make ahead (one round trip for both), or None when it makes none."""
    limit = rate("API_REQUESTS_PER_IDENTITY")
    if not limit or not getattr(settings, "RATELIMIT_ENABLE", True):
        return None
    if getattr(settings, "RATELIMIT_USE_CACHE", "default") != "default":
        return None  # the token's read goes to the default cache: a count elsewhere is the throttle's own
    key, _, period, _ = _count_key("api-identity", iam_id, limit)
    return key, period + EXPIRATION_FUDGE


register_count_ahead(identity_count_ahead)
