"""Error answers in each face's shape: RFC 9457 problem details on /resources/, and the Django handlers.

A database that cannot be reached is answered 503 with ``Retry-After`` in the face's shape, never a 500:
``DatabaseUnavailableMiddleware`` catches it from views, ``server_error`` from middleware (a session read).
"""

import logging
import sys

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError as DatabaseInterfaceError
from django.db import OperationalError as DatabaseOperationalError
from django.http import Http404, HttpResponse, JsonResponse
from django.utils.html import format_html
from django.utils.module_loading import import_string
from rest_framework import exceptions, status
from rest_framework.response import Response

from . import metrics
from .cache import ThrottledLog
from .errors import IAMError

logger = logging.getLogger(__name__)

PROBLEM_TYPE = "https://portcullis.dev/problems/"
PROBLEM_CONTENT_TYPE = "application/problem+json"

TITLES = {
    400: "Bad request", 401: "Not authenticated", 403: "Forbidden", 404: "Not found", 405: "Method not allowed",
    406: "Not acceptable", 409: "Conflict", 412: "Precondition failed", 413: "Request body too large",
    415: "Unsupported media type", 429: "Too many requests", 500: "Internal error", 503: "Service unavailable",
}
CODES = {
    400: "bad_request", 401: "not_authenticated", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
    406: "not_acceptable", 409: "conflict", 412: "precondition_failed", 413: "payload_too_large",
    415: "unsupported_media_type", 429: "throttled", 500: "server_error", 503: "service_unavailable",
}
DETAILS = {
    400: "The request could not be understood.",
    403: "You may not do this.",
    500: "The server failed; the request id identifies it in the logs.",
}

# The faces whose errors are JSON, by path prefix; everything else (console, sign-in pages) gets a page.
# Settings may add faces (IAM_ERROR_FACES) without this module importing the apps that own them.
DEFAULT_ERROR_FACES = ((("/resources/", "/api/"), "iam_project.exceptions.render_problem"),)


class ConflictError(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The resource was changed since you read it."
    default_code = "conflict"


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


def request_id_of(request):
    """The request id the middleware gave the request (also sent back as X-Request-ID)."""
    request = getattr(request, "_request", request)
    return getattr(request, "request_id", "") or ""


def flatten_errors(detail):
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


def problem_body(status_code, title, detail="", code="error", errors=None, request_id=""):
    body = {
        "type": PROBLEM_TYPE + code.replace("_", "-"),
        "title": title,
        "status": status_code,
        "detail": detail,
        "requestId": request_id,
    }
    if errors:
        body["errors"] = errors
    return body


def problem(status_code, title, detail="", code="error", errors=None, headers=None, request=None):
    body = problem_body(status_code, title, detail, code, errors, request_id_of(request))
    return Response(body, status=status_code, headers=headers, content_type=PROBLEM_CONTENT_TYPE)


def problem_exception_handler(exc, context):
    request = context.get("request")
    if isinstance(exc, IAMError) and exc.status == 403:
        record_refusal(context, exc)
    if isinstance(exc, IAMError):
        return problem(exc.status, exc.title, exc.detail or exc.title, exc.code, exc.errors or None,
                       getattr(exc, "headers", None), request=request)
    if isinstance(exc, DjangoValidationError):
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"nonFieldErrors": exc.messages}
        return problem(400, "Invalid input", "The request has invalid fields.", "invalid", errors, request=request)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge()
    if not isinstance(exc, exceptions.APIException):
        return None  # a real bug: let Django log it and answer 500 through server_error below
    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait))
    if isinstance(exc, exceptions.ValidationError):
        return problem(400, "Invalid input", "The request has invalid fields.", "invalid",
                       flatten_errors(exc.detail), headers, request=request)
    if isinstance(exc, exceptions.NotAuthenticated) or isinstance(exc, exceptions.AuthenticationFailed):
        headers.setdefault("WWW-Authenticate", 'Bearer realm="portcullis"')
        return problem(401, "Not authenticated", str(exc.detail), "not_authenticated", headers=headers,
                       request=request)
    title = TITLES.get(exc.status_code, "Error")
    detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    code = exc.default_code if isinstance(exc.default_code, str) else "error"
    if exc.status_code == 400 and isinstance(exc, exceptions.ParseError):
        return problem(400, "Malformed request", detail, "parse_error", headers=headers, request=request)
    return problem(exc.status_code, title, detail, code, headers=headers, request=request)


def record_refusal(context, exc):
    """A service's least-privilege refusal (escalation, last owner, ...) is a denial like any other.
    The service's transaction has been rolled back by now, so the event stands on its own."""
    from .hooks import emit_access_denied

    request = context.get("request")
    identity = getattr(request, "user", None)
    if request is not None and getattr(identity, "is_authenticated", False):
        emit_access_denied(request, identity, None, reason=exc.detail or exc.title)


# --- error answers outside DRF views: Django's handlers and the request guard ---------------------------------

def render_problem(request, status_code, detail, code, errors=None):
    body = problem_body(status_code, TITLES.get(status_code, "Error"), detail, code, errors, request_id_of(request))
    return JsonResponse(body, status=status_code, content_type=PROBLEM_CONTENT_TYPE)


def _with_fields(detail, errors):
    """The detail, naming the fields at fault (for shapes that have no field map of their own)."""
    if not errors:
        return detail
    return f"{detail} " + "; ".join(f"{field}: {' '.join(map(str, messages))}" for field, messages in errors.items())


def render_oauth_error(request, status_code, detail, code, errors=None):
    """RFC 6749 §5.2's shape, for the OAuth server's JSON endpoints (token, revoke, introspect, userinfo)."""
    error = {503: "temporarily_unavailable"}.get(status_code) or (
        "server_error" if status_code >= 500 else "invalid_request")
    return JsonResponse({"error": error, "error_description": _with_fields(detail, errors),
                         "request_id": request_id_of(request)}, status=status_code)


def render_page(request, status_code, detail, code, errors=None):
    """A plain page for people (console, sign-in): the status, one sentence and the request id; nothing else."""
    title = TITLES.get(status_code, "Error")
    html = format_html(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{} {}</title></head>"
        "<body><h1>{} {}</h1><p>{}</p><p>Request id: <code>{}</code></p></body></html>\n",
        status_code, title, status_code, title, _with_fields(detail, errors), request_id_of(request),
    )
    return HttpResponse(html, status=status_code, content_type="text/html; charset=utf-8")


def _renderer_for(path):
    faces = getattr(settings, "IAM_ERROR_FACES", None) or DEFAULT_ERROR_FACES
    for prefixes, renderer in faces:
        if path.startswith(tuple(prefixes)):
            return import_string(renderer) if isinstance(renderer, str) else renderer
    return render_page


def error_response(request, status_code, detail=None, code=None, errors=None, headers=None):
    """The error answer for ``request`` in the shape of the face its path belongs to, with its request id.
    Used by Django's error handlers and by middleware that refuses a request before any view."""
    detail = detail or DETAILS.get(status_code) or TITLES.get(status_code, "Error")
    code = code or CODES.get(status_code, "error")
    response = _renderer_for(request.path)(request, status_code, detail, code, errors)
    for name, value in (headers or {}).items():
        response[name] = value
    request_id = request_id_of(request)
    if request_id:
        response["X-Request-ID"] = request_id
    return response


def bad_request(request, exception=None):
    """handler400: malformed requests Django itself refuses (SuspiciousOperation); an over-size body is 413."""
    if isinstance(exception, RequestDataTooBig):
        return error_response(request, 413, "The request body is larger than this server accepts.")
    return error_response(request, 400)


def permission_denied(request, exception=None):
    return error_response(request, 403)


def page_not_found(request, exception=None):
    return error_response(request, 404, f"No resource at {request.path}.")


def server_error(request):
    """handler500; a database that could not be reached (from a middleware: the session, the user) is a 503."""
    if isinstance(sys.exc_info()[1], DATABASE_UNAVAILABLE):
        return database_unavailable(request, sys.exc_info()[1])
    return error_response(request, 500)


# --- the database is unreachable: 503, Retry-After, in the face's shape -----------------------------------------

DATABASE_UNAVAILABLE = (DatabaseOperationalError, DatabaseInterfaceError)
_database_log = ThrottledLog(logger, 60)


def database_unavailable(request, exception=None):
    """503 with Retry-After (``IAM_DATABASE_RETRY_AFTER`` seconds) in the shape of the request's face; logged
    once a minute at most (the error's class, never its text: it may name the server and user)."""
    seconds = int(getattr(settings, "IAM_DATABASE_RETRY_AFTER", 5))
    metrics.database_unavailable()
    _database_log(logging.ERROR, "database.unavailable error=%s path=%s",
                  type(exception).__name__ if exception is not None else "-", request.path)
    return error_response(request, 503, "The service cannot reach its database; retry shortly.",
                          headers={"Retry-After": str(max(1, seconds))})


class DatabaseUnavailableMiddleware:
    """A view that could not reach the database (OperationalError, InterfaceError) answers 503, not 500.
    Connections recover by themselves (CONN_HEALTH_CHECKS): the next request after the database is back
    opens a new one."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, DATABASE_UNAVAILABLE):
            return database_unavailable(request, exception)
        return None
