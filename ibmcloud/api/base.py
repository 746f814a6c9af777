"""Plumbing of the IBM-compatible face: base view, ids with IBM prefixes, ETags, paging, the account."""

import base64
import uuid

from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from iam_project.parsers import JSONParser
from iam_project.permissions import require

from ..models import AccountSettings
from .errors import ibm_exception_handler


class IBMView(APIView):
    """Authenticated by the platform's bearer tokens; permissions are checked per operation with
    ``need`` (the engine decides, a refusal is an audited access.denied)."""

    renderer_classes = [JSONRenderer]
    parser_classes = [JSONParser]
    versioning_class = None
    pagination_class = None
    required_permissions = {"*": None}

    def get_exception_handler(self):
        return ibm_exception_handler

    def need(self, permission):
        require(self.request, permission)

    def may(self, permission):
        from iam_project.permissions import allowed

        return allowed(self.request, permission).allowed


def ibm_operation(operation_id, tag, body=False, status=200):
    """The OpenAPI entry of an IBM-face operation, named as in IBM's API description."""
    from drf_spectacular.types import OpenApiTypes
    from drf_spectacular.utils import extend_schema

    from .schema import PARAMETERS, REQUESTS

    request = ({"application/json": REQUESTS[operation_id]} if operation_id in REQUESTS else OpenApiTypes.OBJECT) \
        if body else None
    return extend_schema(operation_id=operation_id, tags=[f"IBM Cloud IAM: {tag}"], request=request,
                         parameters=PARAMETERS.get(operation_id, []),
                         responses={status: OpenApiTypes.OBJECT if status != 204 else None})


def account():
    return AccountSettings.current()


def account_id():
    """The account's id (never changes once made): cached, so a list of 100 keys is not 100 queries."""
    from django.core.cache import cache

    value = cache.get("iam:account_id")
    if value is None:
        value = account().account_id
        cache.set("iam:account_id", value, None)
    return value


def ensure_account(named, for_list=False):
    """True when ``named`` is this installation's account (or none is named); a list naming another
    account is empty, anything else naming one is 403 — never someone else's data."""
    if not named or named == account_id():
        return True
    if for_list:
        return False
    raise PermissionDenied(f"Account {named} is not this account.")


def crn(kind, ident):
    return f"crn:v1:portcullis:public:iam-identity::a/{account_id()}::{kind}:{ident}"


def public_id(prefix, pk):
    return f"{prefix}-{pk}"


def parse_id(prefix, value, what):
    text = str(value)
    if text.startswith(prefix + "-"):
        text = text[len(prefix) + 1:]
    try:
        return uuid.UUID(text)
    except ValueError:
        raise NotFound(f"No such {what}: {value}.") from None


def with_etag(body, obj, status=200, headers=None):
    response = Response(body, status=status, headers=headers, content_type="application/json")
    response["ETag"] = str(obj.version)
    return response


def stamp(value):
    return value.isoformat().replace("+00:00", "Z") if value else None


def page(request, items, key, pagesize_param="pagesize", token_param="pagetoken", default=20):
    """IBM-style paging: ``offset``/``limit`` with an opaque token for the next page."""
    try:
        limit = max(1, min(100, int(request.query_params.get(pagesize_param) or default)))
    except ValueError:
        from rest_framework.exceptions import ValidationError

        raise ValidationError({pagesize_param: ["Must be a number."]}) from None
    token = request.query_params.get(token_param)
    offset = 0
    if token:
        try:
            offset = int(base64.urlsafe_b64decode(token.encode()).decode())
        except (ValueError, UnicodeDecodeError):
            from rest_framework.exceptions import ValidationError

            raise ValidationError({token_param: ["Not a token this server issued."]}) from None
    chunk = items[offset:offset + limit]
    body = {"offset": offset, "limit": limit, key: chunk}
    if offset + limit < len(items):
        body["next"] = base64.urlsafe_b64encode(str(offset + limit).encode()).decode()
    return body
