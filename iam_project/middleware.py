"""Request-context middleware: request id (honouring X-Request-ID), client IP, user agent and actor."""

import re
import uuid

from .cache import request_scope
from .conf import iam_settings
from .context import authenticate, request_context
from .stepup import Authentication, from_session

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


def client_ip(request):
    """The client address: REMOTE_ADDR, or the right hop of X-Forwarded-For behind trusted proxies."""
    proxies = iam_settings.TRUSTED_PROXY_COUNT
    if proxies:
        hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
        if len(hops) >= proxies:
            return hops[-proxies]
    return request.META.get("REMOTE_ADDR") or None


class RequestContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        request.client_ip = client_ip(request)
        with request_scope(), request_context(
            request_id=request_id,
            ip=request.client_ip,
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
            actor="anonymous",
            actor_type="anonymous",
            authentication=Authentication(),  # a request proves nothing until a session or token says so
        ):
            response = self.get_response(request)
        response["X-Request-ID"] = request_id
        return response

    def process_view(self, request, view_func, view_args, view_kwargs):
        # Session users are known by now; bearer tokens are named later by the DRF authenticator.
        user = getattr(request, "user", None)
        if user is not None and getattr(user, "is_authenticated", False):
            authenticate(user, authentication=from_session(getattr(request, "session", None)))
        return None
