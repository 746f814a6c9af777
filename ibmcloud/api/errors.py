"""IBM's error shape for the IBM-compatible face: ``{"trace", "errors": [{"code", "message"}], "status_code"}``,
served as application/json (the SDK raises ApiException with ``errors[0].message``)."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, JsonResponse
from rest_framework import exceptions
from rest_framework.response import Response

from iam_project.errors import IAMError
from iam_project.exceptions import PayloadTooLarge, flatten_errors, record_refusal, request_id_of

CODES = {400: "invalid_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
         406: "not_acceptable", 409: "conflict", 413: "request_too_large", 415: "unsupported_media_type",
         429: "too_many_requests", 500: "internal_error", 503: "service_unavailable"}


def ibm_error_body(status, message, request_id="", code=None, token_service=False):
    """The body IBM's services answer errors with; the token service (/identity/) also names the error in
    ``errorCode`` / ``errorMessage``, which is what IBM's SDKs read from it."""
    code = code or CODES.get(status, "error")
    body = {"trace": request_id, "errors": [{"code": code, "message": message}], "status_code": status}
    if token_service:
        body.update(errorCode=code, errorMessage=message)
    return body


def ibm_error(status, message, request=None, code=None):
    body = ibm_error_body(status, message, request_id_of(request), code)
    return Response(body, status=status, content_type="application/json")


def render_error(request, status, detail, code=None, errors=None):
    """Errors answered outside the face's views (unknown route, over-size body, a crash): the same shape.
    ``code`` is the platform's generic code; the face names its own."""
    if errors:
        detail = "; ".join(f"{field}: {' '.join(messages)}" for field, messages in errors.items())
    body = ibm_error_body(status, detail, request_id_of(request), token_service=request.path.startswith("/identity/"))
    return JsonResponse(body, status=status)


def ibm_exception_handler(exc, context):
    request = context.get("request")
    raw = getattr(request, "_request", request)
    if isinstance(exc, IAMError):
        if exc.status == 403:
            record_refusal(context, exc)
        message = exc.detail or exc.title
        if exc.errors:
            message = "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.errors.items())
        response = ibm_error(exc.status, message, raw)
        for name, value in (getattr(exc, "headers", None) or {}).items():  # a step-up challenge (RFC 9470)
            response[name] = value
        return response
    if isinstance(exc, DjangoValidationError):  # a model's own validation: a 400 naming the fields
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"nonFieldErrors": exc.messages}
        return ibm_error(400, "; ".join(f"{f}: {' '.join(m)}" for f, m in errors.items()), raw)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge()
    if not isinstance(exc, exceptions.APIException):
        return None
    if isinstance(exc, exceptions.ValidationError):
        fields = flatten_errors(exc.detail)
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
