"""Input every face refuses before any view runs: over-size bodies (413) and text the database cannot store (400).

Each refusal is answered in the face's own error shape (``error_response``). JSON bodies are checked where
they are parsed (``iam_project.parsers``); this middleware covers what every view reads without parsing
it itself: the path, the query string and form bodies (the OAuth server's endpoints are plain Django views).
"""

import logging

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.http import QueryDict
from django.http.multipartparser import MultiPartParserError

from .exceptions import error_response

logger = logging.getLogger(__name__)

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def text_problem(value):
    """Why PostgreSQL (text, jsonb) could not store ``value``, or None: NUL characters, lone surrogates."""
    if "\x00" in value:
        return "Must not contain NUL (\\u0000) characters."
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "Must be valid Unicode (no lone surrogates)."
    return None


def mapping_problems(items, where):
    """{name: [message]} for every key or value of ``items`` ((key, [values]) pairs) the database cannot store."""
    errors = {}
    for key, values in items:
        name = key if text_problem(key) is None else repr(key)
        problem = text_problem(key) or next(filter(None, (text_problem(v) for v in values if isinstance(v, str))), None)
        if problem:
            errors[f"{where}.{name}" if where else name] = [problem]
    return errors


class RequestGuardMiddleware:
    """Refuses, before any view: a body larger than DATA_UPLOAD_MAX_MEMORY_SIZE (413) — for every content type,
    since DRF reads JSON from the stream and Django's own limit only covers form bodies —, and NUL characters
    in the path, the query string or a form body (400 naming the parameter)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        refusal = self.refusal(request)
        if refusal is not None:
            return refusal
        return self.get_response(request)

    def refusal(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return error_response(request, 400, "Content-Length is not a number.",
                                  errors={"Content-Length": ["Must be a number of bytes."]})
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None and length > limit:
            logger.info("request.refused reason=too_large length=%s limit=%s path=%s", length, limit, request.path)
            return error_response(request, 413, f"The request body is larger than {limit} bytes.")
        errors = {}
        problem = text_problem(request.path)
        if problem:
            errors["path"] = [problem]
        try:
            errors.update(mapping_problems(request.GET.lists(), "query"))
            errors.update(self.form_problems(request))
        except TooManyFieldsSent:
            return error_response(request, 400, "The request has too many fields.")
        except MultiPartParserError:
            return error_response(request, 400, "The multipart body is malformed.")
        except RequestDataTooBig:  # a body without Content-Length that turned out too large
            return error_response(request, 413, f"The request body is larger than {limit} bytes.")
        if errors:
            logger.info("request.refused reason=unstorable_text fields=%s path=%r", ",".join(errors), request.path)
            return error_response(request, 400, "The request has invalid fields.", code="invalid", errors=errors)
        return None

    @staticmethod
    def form_problems(request):
        content_type = request.content_type or ""
        if content_type not in FORM_TYPES or not length_of(request):
            return {}
        if content_type == FORM_TYPES[0]:
            # Parsed from the body for every method (Django fills request.POST for POST only);
            # the body stays readable for the view.
            form = QueryDict(request.body, encoding=request.encoding)
        elif request.method == "POST":
            form = request.POST
        else:
            return {}
        return mapping_problems(form.lists(), "")


def length_of(request):
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0
