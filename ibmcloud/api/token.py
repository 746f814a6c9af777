"""POST /identity/token: an API key (or a refresh token) for an access token, as IBM's SDKs ask."""

import hashlib

from django.db import transaction
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from oauth2_provider.models import get_application_model, get_refresh_token_model
from oauth2_provider.settings import oauth2_settings
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

import audit
from clients.choices import GrantTypeChoices
from clients.services import authenticate_api_key
from clients.tokens import issue_token_pair

from .base import account

APIKEY_GRANT = GrantTypeChoices.API_KEY.value
TOKEN_CLIENT_NAME = "IBM Cloud IAM token service"


def token_error(status, code, message):
    """IBM's token error shape, plus ``errors[0].message`` which the SDK reads."""
    return Response({"errorCode": code, "errorMessage": message, "errors": [{"code": code, "message": message}]},
                    status=status, content_type="application/json")


def token_client():
    """The system client that principals' API-key tokens are issued through (made on first use)."""
    Client = get_application_model()
    client = Client.objects.filter(name=TOKEN_CLIENT_NAME, is_system=True).first()
    if client is None:
        client = Client.objects.create(name=TOKEN_CLIENT_NAME, is_system=True, client_type="confidential",
                                       grant_types=[APIKEY_GRANT, "refresh_token"])
    return client


def record_apikey_failure(value):
    """``apikey.auth_failed`` for a refused key: the key itself as target when it exists (disabled,
    expired, owner suspended), else only the prefix of a value shaped like a key — never the value.
    The answer stays the same for every reason, so the trail knows more than the caller."""
    from clients.models import APIKEY_PREFIX, ApiKey

    key = (ApiKey.objects.select_related("principal", "client").filter(digest=ApiKey.digest_of(value)).first()
           if value else None)
    if key is None:
        details = {"reason": "missing" if not value else "unknown"}
        if value.startswith(APIKEY_PREFIX):
            details["prefix"] = value[:12]
        audit.record("apikey.auth_failed", target_type="apiKey", target_repr=details.get("prefix", ""),
                     details=details)
        return
    owner = key.owner
    if key.disabled:
        reason = "disabled"
    elif owner is None or not owner.is_active:
        reason = "ownerSuspended"
    else:
        reason = "expired"
    audit.record("apikey.auth_failed", key, details={"reason": reason, "prefix": key.prefix, "owner": key.iam_id})


class IdentityTokenView(APIView):
    authentication_classes = []
    permission_classes = []
    parser_classes = [FormParser, MultiPartParser]
    renderer_classes = [JSONRenderer]
    versioning_class = None

    def get_exception_handler(self):
        from .errors import ibm_exception_handler

        return ibm_exception_handler

    @extend_schema(operation_id="createAccessToken", tags=["IBM Cloud IAM: Tokens"], auth=[],
                   request={"application/x-www-form-urlencoded": OpenApiTypes.OBJECT},
                   responses={200: OpenApiTypes.OBJECT, 400: OpenApiTypes.OBJECT})
    def post(self, request):
        grant_type = request.data.get("grant_type", "")
        issuer = oauth2_settings.oidc_issuer(request._request)
        if grant_type == APIKEY_GRANT:
            return self._apikey(request, issuer)
        if grant_type == "refresh_token":
            return self._refresh(request, issuer)
        return token_error(400, "BXNIM0109E", "Property 'grant_type' must be "
                                              f"'{APIKEY_GRANT}' or 'refresh_token'.")

    def _respond(self, identity, application, issuer, grant_type, family=None):
        access, refresh, expires_in, iat = issue_token_pair(
            identity, application, issuer, grant_type=grant_type, family=family,
            extra_claims={"account": {"bss": account().account_id}})
        audit.record("token.issued", application, actor=identity.iam_id, actor_type=identity.identity_type,
                     details={"grantType": grant_type, "scope": "*:*", "subject": identity.iam_id,
                              "refreshToken": True})
        return Response({"access_token": access, "refresh_token": refresh, "token_type": "Bearer",
                         "expires_in": expires_in, "expiration": iat + expires_in, "scope": "ibm openid"},
                        content_type="application/json")

    @transaction.atomic
    def _apikey(self, request, issuer):
        value = request.data.get("apikey", "")
        if not value or not isinstance(value, str):
            record_apikey_failure("")
            return token_error(400, "BXNIM0415E", "Provide an API key ('apikey').")
        key = authenticate_api_key(value)
        if key is None:
            record_apikey_failure(value)
            return token_error(400, "BXNIM0415E", "Provided API key could not be found, is disabled or expired, "
                                                  "or its owner is suspended.")
        owner = key.owner
        application = owner if owner.identity_type == "client" else token_client()
        return self._respond(owner, application, issuer, APIKEY_GRANT)

    @transaction.atomic
    def _refresh(self, request, issuer):
        value = request.data.get("refresh_token", "")
        RefreshToken = get_refresh_token_model()
        checksum = hashlib.sha256(value.encode("utf-8")).hexdigest() if value else ""
        # Only refresh tokens this endpoint issued: one from the OAuth server (another client's, with
        # its own scopes) must never turn into an unscoped token here.
        stored = (RefreshToken.objects.select_for_update().select_related("user", "application")
                  .filter(token_checksum=checksum, application=token_client()).first() if value else None)
        if stored is None:
            return token_error(400, "BXNIM0407E", "Provided refresh token is invalid.")
        if stored.revoked is not None:
            RefreshToken.revoke_family(stored.token_family)  # a replay: the whole family goes
            return token_error(400, "BXNIM0407E", "Provided refresh token was already used; its family is revoked.")
        identity = stored.user or stored.application
        lifetime = oauth2_settings.REFRESH_TOKEN_EXPIRE_SECONDS
        from datetime import timedelta

        from django.utils import timezone

        if (identity is None or not identity.is_active or not stored.application.is_active
                or (lifetime and stored.created + timedelta(seconds=lifetime) < timezone.now())):
            return token_error(400, "BXNIM0408E", "Provided refresh token is expired or its identity is suspended.")
        family = stored.token_family
        stored.revoke()
        return self._respond(identity, stored.application, issuer, "refresh_token", family=family)
