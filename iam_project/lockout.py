"""django-axes glue for the sign-in forms: how a username is counted, and the lock-out page (429)."""

import math

from django.template.response import TemplateResponse
from django.utils import timezone


def username_of(request, credentials=None):
    """The email as the platform stores it, so that "Victim@Example.com" and "victim@example.com"
    count against one username (emails are case-insensitive here)."""
    if credentials:
        value = credentials.get("username", credentials.get("email"))
    else:
        value = getattr(request, "POST", {}).get("username")
    if value is None:
        return None
    return str(value).strip().lower()[:254]


def seconds_left(request, credentials=None):
    """Seconds until the newest counted failure of this username or IP leaves the cool-off window:
    an upper bound of the wait (sign-in works again at the latest then)."""
    from axes.handlers.proxy import AxesProxyHandler
    from axes.helpers import get_cool_off
    from django.db.models import Max

    cool_off = get_cool_off(request)
    if not cool_off:
        return None
    handler = AxesProxyHandler.get_implementation()
    latest = None
    for attempts in handler.get_user_attempts(request, credentials):
        newest = attempts.aggregate(newest=Max("attempt_time"))["newest"]
        if newest and (latest is None or newest > latest):
            latest = newest
    if latest is None:
        return int(cool_off.total_seconds())
    return max(1, math.ceil((latest + cool_off - timezone.now()).total_seconds()))


def lockout_response(request, original_response=None, credentials=None):
    """AXES_LOCKOUT_CALLABLE: a page in the sign-in style, 429 with Retry-After — never the form
    again, never a 500, and never a word about whether the password was right."""
    seconds = seconds_left(request, credentials)
    minutes = math.ceil(seconds / 60) if seconds else None
    context = {
        "reason": "Too many failed sign-in attempts for this account or from this address.",
        "retry_after": seconds,
        "retry_minutes": minutes,
        "lockout": True,
        "console": request.path.startswith("/admin/"),
    }
    response = TemplateResponse(request, "lockout.html", context, status=429).render()
    if seconds:
        response["Retry-After"] = str(seconds)
    return response
