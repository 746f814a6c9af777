"""The API-key grant as an oauthlib grant type, and the token service that offers it.

IBM's API-key grant (``urn:ibm:params:oauth:grant-type:apikey``) is registered on the server that
django-oauth-toolkit builds (``clients.oauth.IAMServer``), so an API-key token is issued, stored,
capped and audited exactly like every other token. It is offered only at the *token service*: the
requests that an adapter (the IBM face's ``/identity/token``) hands to the server through
``TokenServiceCore``. There, no client authenticates: the API key (or a refresh token the token
service issued) is the credential, and the token's client is the key's owner when that is a client
(a service ID), else the system client ``TOKEN_SERVICE_CLIENT_NAME``.
"""

import json
import logging

from oauth2_provider.models import get_application_model
from oauth2_provider.oauth2_backends import OAuthLibCore
from oauthlib.oauth2.rfc6749 import errors
from oauthlib.oauth2.rfc6749.grant_types.base import GrantTypeBase

import audit

from .choices import GrantTypeChoices
from .models import APIKEY_PREFIX, ApiKey

logger = logging.getLogger(__name__)

API_KEY_GRANT = GrantTypeChoices.API_KEY.value
# What the token service offers (the OAuth server's /oauth/token/ offers clients.oauth.OFFERED_GRANT_TYPES).
TOKEN_SERVICE_GRANT_TYPES = (API_KEY_GRANT, GrantTypeChoices.REFRESH_TOKEN.value)
# The body parameters the token service passes on to the server; anything else is not its business.
TOKEN_SERVICE_PARAMETERS = ("grant_type", "apikey", "refresh_token")
# The system client that principals' API-key tokens (and their refresh tokens) are issued through.
TOKEN_SERVICE_CLIENT_NAME = "IBM Cloud IAM token service"
# Set by TokenServiceCore on the oauthlib request's headers, its value an object of this process: no
# request can forge it, whatever reaches Django's META (every value there is a string).
TOKEN_SERVICE_MARK = "X-Portcullis-Token-Service"
_TOKEN_SERVICE = object()
# The refusal of a refresh token that exists but may no longer be used (IBM tells it from an
# unknown one); the adapter recognises it by this description.
REFRESH_TOKEN_EXPIRED = "The refresh token is expired, or its identity is suspended."


def via_token_service(request):
    """True for an oauthlib request that came through the token service (TokenServiceCore)."""
    headers = getattr(request, "headers", None) or {}
    return headers.get(TOKEN_SERVICE_MARK) is _TOKEN_SERVICE


def token_service_client():
    """The system client principals' API-key tokens are issued through (made on first use). The
    oldest one wins, so that a duplicate from two racing first uses never strands refresh tokens."""
    Client = get_application_model()
    client = Client.objects.filter(name=TOKEN_SERVICE_CLIENT_NAME, is_system=True).order_by("created", "pk").first()
    if client is None:
        client = Client.objects.create(name=TOKEN_SERVICE_CLIENT_NAME, is_system=True,
                                       client_type=Client.CLIENT_CONFIDENTIAL, grant_types=list(TOKEN_SERVICE_GRANT_TYPES))
        logger.info("token_service.client_created client_id=%s", client.client_id)
    return client


def record_api_key_refusal(value):
    """``apikey.auth_failed`` for a refused key: the key itself as target when it exists (disabled,
    expired, owner suspended), else only the prefix of a value shaped like a key — never the value.
    The answer stays the same for every reason, so the trail knows more than the caller. Runs on
    refusals only (one query to tell the reason)."""
    value = value if isinstance(value, str) else ""
    key = (ApiKey.objects.select_related("principal", "client").filter(digest=ApiKey.digest_of(value)).first()
           if value else None)
    if key is None:
        details = {"reason": "missing" if not value else "unknown"}
        if value.startswith(APIKEY_PREFIX):
            details["prefix"] = value[:12]
        audit.record("apikey.auth_failed", target_type="apiKey", target_repr=details.get("prefix", ""),
                     details=details)
        logger.info("apikey.auth_failed reason=%s prefix=%s", details["reason"], details.get("prefix", ""))
        return
    owner = key.owner
    if key.disabled:
        reason = "disabled"
    elif owner is None or not owner.is_active:
        reason = "ownerSuspended"
    else:
        reason = "expired"
    audit.record("apikey.auth_failed", key, details={"reason": reason, "prefix": key.prefix, "owner": key.iam_id})
    logger.info("apikey.auth_failed reason=%s prefix=%s owner=%s", reason, key.prefix, key.iam_id)


class ApiKeyGrant(GrantTypeBase):
    """``grant_type=urn:ibm:params:oauth:grant-type:apikey&apikey=…``: an access token for the key's
    owner (and a refresh token when the owner is a principal). The request validator decides
    (``validate_api_key``, ``validate_grant_type``, ``get_api_key_scopes``); this class only runs
    the steps in order, as oauthlib's own grants do."""

    def create_token_response(self, request, token_handler):
        headers = self._get_default_headers()
        try:
            self.validate_token_request(request)
        except errors.OAuth2Error as error:
            logger.debug("apikey grant refused: %s", error.error)
            headers.update(error.headers)
            return headers, error.json, error.status_code
        # A client holds its own key and asks again; only a principal's token comes with a refresh token.
        token = token_handler.create_token(request, refresh_token=request.user is not None)
        for modifier in self._token_modifiers:
            token = modifier(token, token_handler, request)
        self.request_validator.save_token(token, request)
        return headers, json.dumps(token), 200

    def validate_token_request(self, request):
        for validator in self.custom_validators.pre_token:
            validator(request)
        if request.grant_type != API_KEY_GRANT:
            raise errors.UnsupportedGrantTypeError(request=request)
        for param in ("grant_type", "apikey"):
            if param in request.duplicate_params:
                raise errors.InvalidRequestError(description=f"Duplicate {param} parameter.", request=request)
        value = getattr(request, "apikey", None)
        if not self.request_validator.validate_api_key(value, request):
            if not value:
                raise errors.InvalidRequestError(description="Provide an API key ('apikey').", request=request)
            raise errors.InvalidGrantError(
                description="Provided API key could not be found, is disabled or expired, or its owner is suspended.",
                request=request)
        self.validate_grant_type(request)
        request.scopes = self.request_validator.get_api_key_scopes(request)
        for validator in self.custom_validators.post_token:
            validator(request)


class TokenServiceCore(OAuthLibCore):
    """django-oauth-toolkit's bridge to the server, for an adapter that is the token service: the
    request reaches the same server as /oauth/token/, marked as the token service's, with only the
    token service's parameters and no client credentials (none are offered there). The query string
    is left out: the token service reads its form only."""

    def _get_escaped_full_path(self, request):
        return request.path

    def extract_headers(self, request):
        headers = super().extract_headers(request)
        headers.pop("Authorization", None)
        headers.pop("HTTP_AUTHORIZATION", None)
        headers[TOKEN_SERVICE_MARK] = _TOKEN_SERVICE
        return headers

    def extract_body(self, request):
        return [(name, request.POST[name]) for name in TOKEN_SERVICE_PARAMETERS if name in request.POST]
