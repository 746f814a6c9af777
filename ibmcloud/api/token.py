"""POST /identity/token: IBM's token service, a thin adapter onto the OAuth server's token endpoint.

The request (an API key or a refresh token, as IBM's SDKs send it) goes to the same
django-oauth-toolkit server as /oauth/token/, through ``clients.grants.TokenServiceCore``; the
server's API-key grant and refresh grant issue, store, cap, rotate and audit the token. This module
only maps IBM's form onto the server's request, and the server's answer and errors into IBM's
shapes and codes (which iam_project.ratelimit reads).
"""

import base64
import json

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_serializer
from oauth2_provider.views.mixins import OAuthLibMixin
from rest_framework import serializers
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from clients.grants import API_KEY_GRANT, REFRESH_TOKEN_EXPIRED, TokenServiceCore
from iam_project.exceptions import request_id_of

from .base import account_id, ensure_address_allowed
from .errors import ibm_error_body, ibm_exception_handler

REFRESH_GRANT = "refresh_token"
# IBM's token error codes; iam_project.ratelimit counts 0415E against the key, 0407E/0408E against the IP.
APIKEY_REFUSED, REFRESH_INVALID, REFRESH_EXPIRED, BAD_GRANT_TYPE = "BXNIM0415E", "BXNIM0407E", "BXNIM0408E", "BXNIM0109E"
MESSAGES = {
    REFRESH_INVALID: "Provided refresh token is invalid.",
    REFRESH_EXPIRED: "Provided refresh token is expired or its identity is suspended.",
    BAD_GRANT_TYPE: f"Property 'grant_type' must be '{API_KEY_GRANT}' or '{REFRESH_GRANT}'.",
}
# IBM answers this scope for every token it issues; the token itself carries the server's scope.
IBM_SCOPE = "ibm openid"
# The server's cache headers go out with IBM's body too: a token answer is never cached.
PASSED_HEADERS = ("Cache-Control", "Pragma")


def account_claims(request):
    """The claims hook of the token service (setting ``IAM_TOKEN_SERVICE_CLAIMS``): IBM's account."""
    return {"account": {"bss": account_id()}}


def ibm_error_code(grant_type, error, description):
    """IBM's code for the server's RFC 6749 error on a request naming ``grant_type``."""
    if error == "unsupported_grant_type" or grant_type not in (API_KEY_GRANT, REFRESH_GRANT):
        return BAD_GRANT_TYPE
    if grant_type == API_KEY_GRANT:
        return APIKEY_REFUSED
    return REFRESH_EXPIRED if description == REFRESH_TOKEN_EXPIRED else REFRESH_INVALID


def expiration_of(access_token):
    """The ``exp`` claim of a token the server has just signed (read, not verified: it is its own)."""
    payload = access_token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["exp"]


@extend_schema_serializer(component_name="IBMToken")
class TokenRequestSerializer(serializers.Serializer):
    """The form IBM's SDKs post (describes the OpenAPI request; the OAuth server validates it)."""

    grant_type = serializers.ChoiceField(choices=[API_KEY_GRANT, REFRESH_GRANT])
    apikey = serializers.CharField(required=False, help_text="The API key (with the API-key grant).")
    refresh_token = serializers.CharField(required=False, help_text="A refresh token this endpoint issued.")
    response_type = serializers.CharField(required=False, help_text="IBM's SDKs send `cloud_iam`; ignored.")


@extend_schema_serializer(component_name="IBMToken")
class TokenResponseSerializer(serializers.Serializer):
    access_token = serializers.CharField(help_text="An RFC 9068 JWT, accepted as a bearer token everywhere.")
    refresh_token = serializers.CharField(help_text="For a principal; `not_supported` for a service ID.")
    token_type = serializers.CharField()
    expires_in = serializers.IntegerField()
    expiration = serializers.IntegerField(help_text="When the access token expires (seconds since the epoch).")
    scope = serializers.CharField()


class IdentityTokenView(OAuthLibMixin, APIView):
    """An access token for an API key, or for a refresh token this endpoint issued (IBM Cloud IAM's
    token service). Issued by the platform's OAuth server, like every token: the same JWT, capped by
    just-in-time grants; refresh tokens rotate and a replayed one revokes its family."""

    authentication_classes = []
    permission_classes = []
    parser_classes = [FormParser, MultiPartParser]
    renderer_classes = [JSONRenderer]
    versioning_class = None
    oauthlib_backend_class = TokenServiceCore

    def get_exception_handler(self):
        return ibm_exception_handler

    @extend_schema(operation_id="createAccessToken", tags=["IBM Cloud IAM: Tokens"], auth=[],
                   request={"application/x-www-form-urlencoded": TokenRequestSerializer},
                   responses={200: TokenResponseSerializer,
                              400: OpenApiResponse(description="IBM's token error (BXNIM0415E, BXNIM0407E, "
                                                               "BXNIM0408E, BXNIM0109E).")})
    def post(self, request):
        request.data  # noqa: B018 — DRF parses (and refuses a body it cannot read) before the server reads the form
        ensure_address_allowed(request._request)
        _, headers, body, status = self.get_oauthlib_core().create_token_response(request._request)
        answer = json.loads(body) if body else {}
        if status == 200:
            response = Response({
                "access_token": answer["access_token"],
                "refresh_token": answer.get("refresh_token", "not_supported"),
                "token_type": answer["token_type"],
                "expires_in": answer["expires_in"],
                "expiration": expiration_of(answer["access_token"]),
                "scope": IBM_SCOPE,
            }, content_type="application/json")
        else:
            response = self.refusal(request, status, answer)
        for name in PASSED_HEADERS:
            if name in headers:
                response[name] = headers[name]
        return response

    @staticmethod
    def refusal(request, status, answer):
        """The server's error in IBM's token-service shape: 400 with IBM's code for a refused
        request; a failure of the server itself keeps its status."""
        raw = request._request
        if status >= 500:
            body = ibm_error_body(status, "The token service failed.", request_id_of(raw), token_service=True)
            return Response(body, status=status, content_type="application/json")
        description = answer.get("error_description") or ""
        code = ibm_error_code(raw.POST.get("grant_type", ""), answer.get("error"), description)
        message = MESSAGES.get(code) or description
        return Response(ibm_error_body(400, message, request_id_of(raw), code=code, token_service=True),
                        status=400, content_type="application/json")
