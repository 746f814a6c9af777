"""IBM's error shape for the IBM-compatible face: ``{"trace", "errors": [{"code", "message"}], "status_code"}``,
served as application/json (the SDK raises ApiException with ``errors[0].message``)."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions
from rest_framework.response import Response

from iam_project.errors import IAMError
from iam_project.exceptions import _flatten, _record_refusal

CODES = {400: "invalid_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
         409: "conflict", 415: "unsupported_media_type", 429: "too_many_requests"}


def ibm_error(status, message, request=None, code=None):
    trace = getattr(request, "request_id", "") if request is not None else ""
    body = {"trace": trace, "errors": [{"code": code or CODES.get(status, "error"), "message": message}],
            "status_code": status}
    return Response(body, status=status, content_type="application/json")


def ibm_exception_handler(exc, context):
    request = context.get("request")
    raw = getattr(request, "_request", request)
    if isinstance(exc, IAMError):
        if exc.status == 403:
            _record_refusal(context, exc)
        message = exc.detail or exc.title
        if exc.errors:
            message = "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.errors.items())
        return ibm_error(exc.status, message, raw)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if not isinstance(exc, exceptions.APIException):
        return None
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail)
        message = "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in fields.items())
        return ibm_error(400, message, raw)
    response = ibm_error(exc.status_code, str(exc.detail), raw)
    if getattr(exc, "wait", None):  # Throttled: when to come back, as on /resources/
        response["Retry-After"] = str(max(1, int(exc.wait)))
    if isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
        response.status_code = 401
        response.data["status_code"] = 401
        response.data["errors"][0]["code"] = "unauthorized"
        response["WWW-Authenticate"] = 'Bearer realm="portcullis"'
    return response
