"""RFC 9457 problem details for every error on /resources/ (and the JSON 404/500 outside DRF views)."""

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response

from .errors import IAMError

logger = logging.getLogger(__name__)

PROBLEM_TYPE = "https://portcullis.dev/problems/"
PROBLEM_CONTENT_TYPE = "application/problem+json"


class ConflictError(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The resource was changed since you read it."
    default_code = "conflict"


def _flatten(detail):
    """DRF's nested error detail -> {field: [messages]} with dotted paths for nested fields."""
    errors = {}

    def walk(prefix, value):
        if isinstance(value, dict):
            for key, item in value.items():
                if isinstance(key, int):
                    walk(f"{prefix}[{key}]", item)
                else:
                    walk(f"{prefix}.{key}" if prefix else str(key), item)
        elif isinstance(value, list) and value and not all(isinstance(v, (str, exceptions.ErrorDetail)) for v in value):
            for index, item in enumerate(value):
                if item:
                    walk(f"{prefix}[{index}]" if prefix else str(index), item)
        else:
            messages = value if isinstance(value, list) else [value]
            errors.setdefault(prefix or "nonFieldErrors", []).extend(str(m) for m in messages)

    walk("", detail)
    return errors


def problem(status_code, title, detail="", code="error", errors=None, headers=None):
    body = {
        "type": PROBLEM_TYPE + code.replace("_", "-"),
        "title": title,
        "status": status_code,
        "detail": detail,
    }
    if errors:
        body["errors"] = errors
    response = Response(body, status=status_code, headers=headers, content_type=PROBLEM_CONTENT_TYPE)
    return response


def problem_exception_handler(exc, context):
    if isinstance(exc, IAMError) and exc.status == 403:
        _record_refusal(context, exc)
    if isinstance(exc, IAMError):
        return problem(exc.status, exc.title, exc.detail or exc.title, exc.code, exc.errors or None)
    if isinstance(exc, DjangoValidationError):
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"nonFieldErrors": exc.messages}
        return problem(400, "Invalid input", "The request has invalid fields.", "invalid", errors)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if not isinstance(exc, exceptions.APIException):
        return None  # a real bug: let Django log it and answer 500
    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait))
    if isinstance(exc, exceptions.ValidationError):
        return problem(400, "Invalid input", "The request has invalid fields.", "invalid",
                       _flatten(exc.detail), headers)
    if isinstance(exc, exceptions.NotAuthenticated) or isinstance(exc, exceptions.AuthenticationFailed):
        headers.setdefault("WWW-Authenticate", 'Bearer realm="portcullis"')
        return problem(401, "Not authenticated", str(exc.detail), "not_authenticated", headers=headers)
    title = {
        403: "Forbidden", 404: "Not found", 405: "Method not allowed", 406: "Not acceptable",
        409: "Conflict", 415: "Unsupported media type", 429: "Too many requests",
    }.get(exc.status_code, "Error")
    detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    code = exc.default_code if isinstance(exc.default_code, str) else "error"
    if exc.status_code == 400 and isinstance(exc, exceptions.ParseError):
        return problem(400, "Malformed request", detail, "parse_error", headers=headers)
    return problem(exc.status_code, title, detail, code, headers=headers)


def _record_refusal(context, exc):
    """A service's least-privilege refusal (escalation, last owner, ...) is a denial like any other.
    The service's transaction has been rolled back by now, so the event stands on its own."""
    from .hooks import emit_access_denied

    request = context.get("request")
    identity = getattr(request, "user", None)
    if request is not None and getattr(identity, "is_authenticated", False):
        emit_access_denied(request, identity, None, reason=exc.detail or exc.title)


def json_not_found(request, exception=None):
    """404 outside the routers: problem JSON for API paths, a plain page elsewhere."""
    from django.views.defaults import page_not_found

    if request.path.startswith(("/resources/", "/api/")):
        return JsonResponse(
            {"type": PROBLEM_TYPE + "not-found", "title": "Not found", "status": 404,
             "detail": f"No resource at {request.path}."},
            status=404, content_type=PROBLEM_CONTENT_TYPE,
        )
    return page_not_found(request, exception)


def json_server_error(request):
    from django.views.defaults import server_error

    if request.path.startswith(("/resources/", "/api/")):
        return JsonResponse(
            {"type": PROBLEM_TYPE + "server-error", "title": "Internal error", "status": 500,
             "detail": "The server failed; the request id identifies it in the logs.",
             "requestId": getattr(request, "request_id", "")},
            status=500, content_type=PROBLEM_CONTENT_TYPE,
        )
    return server_error(request)
