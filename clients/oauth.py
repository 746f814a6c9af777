"""django-oauth-toolkit's request validator and oauthlib server: only the grants offered, suspension, audit.

Extended through DOT's ``OAUTH2_VALIDATOR_CLASS`` and ``OIDC_SERVER_CLASS`` settings, never by
copying its views. Every access token — authorization code, refresh, client credentials and the
token service's API-key grant (clients.grants) — is issued by this server: one place builds the
claims (clients.tokens), one caps the lifetime (``ACCESS_TOKEN_EXPIRE_SECONDS``), one records
``token.issued`` (``IAMOAuth2Validator.save_bearer_token``).
"""

import base64
import binascii
import hashlib
import json
import logging
import re
from datetime import timedelta
from urllib.parse import unquote_plus, urlsplit

from django.db import router, transaction
from django.utils import timezone
from oauth2_provider.models import (
    get_access_token_model, get_application_model, get_grant_model, get_refresh_token_model,
)
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauthlib.oauth2.rfc6749 import errors
from oauthlib.openid import Server

import audit
from iam_project import metrics
from iam_project.cache import forget_request_reads
from iam_project.stepup import from_session_values

from . import authcache as client_authcache
from .grants import (
    API_KEY_GRANT, REFRESH_TOKEN_EXPIRED, TOKEN_SERVICE_GRANT_TYPES, ApiKeyGrant, record_api_key_refusal,
    token_service_client, via_token_service,
)
from .models import ApiKeyIssue

logger = logging.getLogger(__name__)

# What the token endpoint offers. The password grant (RFC 9700 §2.4), the implicit and hybrid
# flows and the device grant are not offered: their requests end in unsupported_grant_type or
# unsupported_response_type before any credential is looked at. The API-key grant is offered at
# the token service only (clients.grants.TOKEN_SERVICE_GRANT_TYPES).
OFFERED_GRANT_TYPES = ("authorization_code", "refresh_token", "client_credentials")
OFFERED_RESPONSE_TYPES = ("code",)
OFFERED_CODE_CHALLENGE_METHODS = ("S256",)

# Claims this server issues in ID tokens and at the userinfo endpoint (discovery lists them all).
ISSUED_CLAIMS = ("iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "jti",
                 "email", "email_verified", "name", "updated_at", "amr", "acr")

# The server's own bookkeeping inside an authorization code's stored ``claims`` (the OIDC claims
# request otherwise): when the user signed in, and whether the code was exchanged. Always
# written whole by the server, so a client-supplied value under this key never survives.
CODE_STATE_KEY = "_portcullis"
# How long an exchanged code is kept to recognise a second use (DOT's hourly purge removes it after).
CODE_REUSE_WINDOW = timedelta(hours=1)


def authentication_claims(request, with_time=True):
    """``amr`` and ``acr`` (and ``auth_time``) of the sign-in an authorization code came from; empty for
    grants without one (client credentials, API keys, refresh)."""
    authentication = from_session_values(getattr(request, "auth_time", None), getattr(request, "amr", None))
    claims = {}
    if with_time and authentication.auth_time is not None:
        claims["auth_time"] = int(authentication.auth_time)
    if authentication.amr:
        claims["amr"] = list(authentication.amr)
        claims["acr"] = authentication.acr
    return claims


def _token_subject(request):
    """The identity the token acts as: the signed-in principal, or the client itself."""
    user = getattr(request, "user", None)
    if user is not None and getattr(user, "iam_id", None):
        return user
    return request.client


def _split_code_claims(stored):
    """(the OIDC claims request, the server's state) from a code's stored ``claims`` text."""
    try:
        claims = json.loads(stored or "{}")
    except ValueError:
        claims = {}
    if not isinstance(claims, dict):
        claims = {}
    state = claims.pop(CODE_STATE_KEY, None)
    return claims, state if isinstance(state, dict) else {}


def _join_code_claims(claims, state):
    return json.dumps({**(claims or {}), CODE_STATE_KEY: state})


# RFC 7636 §4.2: a challenge (S256: 43 characters) of unreserved characters; the code row keeps 128.
CODE_CHALLENGE = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
MAX_NONCE_LENGTH = 255  # what the code row keeps, and far beyond any nonce a client needs


def _printable(value, limit=255):
    """A client-supplied identifier fit for the audit trail: no NUL (PostgreSQL text), bounded."""
    return str(value or "").replace("\x00", "")[:limit]


def offered_requests_only(request):
    """oauthlib pre-authorization check, before any page is shown: response_type ``code`` only
    (oauthlib would otherwise take ``code id_token`` for the hybrid flow, which is not offered),
    and PKCE with S256 only (RFC 9700 §2.1.1) — a challenge without a method means ``plain``
    (RFC 7636 §4.3), so it is refused too."""
    if request.response_type is not None and request.response_type not in OFFERED_RESPONSE_TYPES:
        raise errors.UnsupportedResponseTypeError(request=request)
    if request.code_challenge is not None and request.code_challenge_method not in OFFERED_CODE_CHALLENGE_METHODS:
        raise errors.UnsupportedCodeChallengeMethodError(
            description="code_challenge_method must be S256.", request=request)
    if request.code_challenge is not None and not CODE_CHALLENGE.fullmatch(request.code_challenge):
        raise errors.InvalidRequestError(
            description="code_challenge must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~ (RFC 7636).",
            request=request)
    if request.nonce is not None and len(request.nonce) > MAX_NONCE_LENGTH:
        raise errors.InvalidRequestError(description=f"nonce is longer than {MAX_NONCE_LENGTH} characters.",
                                         request=request)
    return {}


class IAMServer(Server):
    """oauthlib's OpenID Connect server cut down to what the platform offers, plus the API-key grant
    for the token service, with RFC 6749 §5.2 errors for requests it does not understand and RFC 6750
    errors at the userinfo endpoint."""

    def __init__(self, request_validator, *args, **kwargs):
        super().__init__(request_validator, *args, **kwargs)
        self.api_key_grant = ApiKeyGrant(request_validator)
        self._grant_types = {name: grant for name, grant in self._grant_types.items()
                             if name in OFFERED_GRANT_TYPES}
        self._grant_types[API_KEY_GRANT] = self.api_key_grant
        self._response_types = {"code": self.auth_grant_choice}
        for grant in (self.auth_grant, self.openid_connect_auth):
            grant.custom_validators.pre_auth.append(offered_requests_only)

    def validate_token_request(self, request):
        """Missing grant_type is invalid_request, an unknown or unoffered one unsupported_grant_type —
        decided here, before any client or user credential is looked at."""
        super().validate_token_request(request)
        offered = TOKEN_SERVICE_GRANT_TYPES if via_token_service(request) else OFFERED_GRANT_TYPES
        if not request.grant_type:
            raise errors.InvalidRequestError(description="The grant_type parameter is missing.", request=request)
        if request.grant_type not in offered:
            raise errors.UnsupportedGrantTypeError(
                description=f"Offered grant types: {', '.join(offered)}.", request=request)

    def validate_userinfo_request(self, request):
        """A valid token without ``openid`` is insufficient_scope (403), not an invalid token."""
        request.scopes = []  # first: is the token valid at all?
        if not self.bearer.validate_request(request):
            error = getattr(request, "oauth2_error", None) or {}
            description = error.get("error_description")
            raise errors.InvalidTokenError(description=str(description) if description else None, request=request)
        if "openid" not in (request.scopes or []):
            raise errors.InsufficientScopeError(
                description="The access token was not granted the openid scope.", request=request)


class IAMOAuth2Validator(OAuth2Validator):
    # Which scope releases which ID token / userinfo claim.
    oidc_claim_scope = {"sub": "openid", "email": "email", "email_verified": "email", "name": "profile",
                        "updated_at": "profile"}

    # --- client authentication ---------------------------------------------------------------

    def _client_credentials(self, request):
        """(client_id, client_secret) from HTTP Basic (preferred, RFC 6749 §2.3.1) or the body;
        (None, None) for a malformed Basic header."""
        auth = self._extract_basic_auth(request)
        if auth:
            try:
                decoded = base64.b64decode(auth, validate=True).decode("utf-8")
                client_id, secret = map(unquote_plus, decoded.split(":", 1))
                return client_id, secret
            except (binascii.Error, UnicodeDecodeError, ValueError):
                return None, None
        return getattr(request, "client_id", None), getattr(request, "client_secret", None)

    def _client_auth_failed(self, request, client_id, reason):
        """Record ``client.auth_failed``: the client id tried and why — never the secret."""
        target = request.client if isinstance(request.client, get_application_model()) else None
        endpoint = urlsplit(request.uri or "").path
        audit.record("client.auth_failed", target, target_type="client", target_id=_printable(client_id),
                     details={"clientId": _printable(client_id), "reason": reason, "endpoint": endpoint})
        logger.info("client.auth_failed client_id=%r reason=%s endpoint=%s", _printable(client_id, 80), reason,
                    endpoint)

    def _load_application(self, client_id, request):
        """DOT's lookup, except that an id with a NUL byte names no client: PostgreSQL cannot even
        compare it (psycopg raises DataError, which DOT does not expect)."""
        if "\x00" in str(client_id or ""):
            return None
        return super()._load_application(client_id, request)

    def _unusable_client_reason(self, client_id):
        """Why a client id found no usable client: unknown or suspended (one query, on failure only)."""
        if "\x00" in str(client_id or ""):
            return "unknown_client"
        suspended = get_application_model().objects.filter(client_id=client_id, suspended=True).exists()
        return "client_suspended" if suspended else "unknown_client"

    def authenticate_client(self, request, *args, **kwargs):
        """A confidential client proves itself with one of its live secrets, checked by SHA-256
        digest (clients.services.authenticate_secret) — no password hasher, no plaintext. A secret the
        database accepted recently is answered from the cache with no query (clients.authcache); anything
        else takes the database path, which audits a failed attempt that named a client (or sent a
        malformed Basic header) and remembers a success."""
        presented = bool(self._extract_basic_auth(request)) or bool(getattr(request, "client_id", None))
        client_id, secret = self._client_credentials(request)
        if not client_id:
            if presented:
                self._client_auth_failed(request, "", "malformed_credentials")
            return False
        if secret and not isinstance(request.client, get_application_model()):
            client = client_authcache.cached_client(client_id, secret)
            if client is not None:
                request.client = client
                return True
        try:
            return self._authenticate_client_from_database(request, client_id, secret)
        finally:
            forget_request_reads()  # what the request read ahead before this database path is read again

    def _authenticate_client_from_database(self, request, client_id, secret):
        from .services import authenticate_secret, client_for_secret

        if secret and not isinstance(request.client, get_application_model()):
            # the usual case, a live secret of a usable client: client and secret in one query
            client = client_for_secret(client_id, secret)
            if client is not None:
                request.client = client
                client_authcache.remember(client, secret)
                return True
        if self._load_application(client_id, request) is None or request.client.client_id != client_id:
            self._client_auth_failed(request, client_id, self._unusable_client_reason(client_id))
            return False
        if not secret:
            self._client_auth_failed(request, client_id, "missing_secret")
            return False
        if not authenticate_secret(request.client, secret):
            self._client_auth_failed(request, client_id, "invalid_secret")
            return False
        client_authcache.remember(request.client, secret)
        return True

    def client_authentication_required(self, request, *args, **kwargs):
        """At the token service no client authenticates: the refresh token is the credential."""
        if via_token_service(request):
            return False
        return super().client_authentication_required(request, *args, **kwargs)

    def authenticate_client_id(self, client_id, request, *args, **kwargs):
        """A public client names itself; a confidential one named without a secret, an unknown or a
        suspended client fails — and the failure is audited. At the token service the client is
        the token service's own, whatever was named."""
        if via_token_service(request):
            request.client = token_service_client()
            request.client_id = request.client.client_id
            return True
        if self._load_application(client_id, request) is None:
            self._client_auth_failed(request, client_id, self._unusable_client_reason(client_id))
            return False
        if request.client.client_type != get_application_model().CLIENT_PUBLIC:
            self._client_auth_failed(request, client_id, "missing_secret")
            return False
        return True

    # --- grants ------------------------------------------------------------------------------

    def validate_grant_type(self, client_id, grant_type, client, request, *args, **kwargs):
        """The client's own grant list decides, refresh_token included. The API-key grant (offered
        at the token service only) is authorised by the key itself: whoever may create a key for an
        identity may let it obtain tokens."""
        if grant_type == API_KEY_GRANT:
            return True
        if grant_type == "refresh_token":
            return "refresh_token" in (request.client.grant_types or [])
        return super().validate_grant_type(client_id, grant_type, client, request, *args, **kwargs)

    def validate_api_key(self, value, request):
        """The API-key grant's credential (clients.services.authenticate_api_key). A usable key makes
        its owner the token's identity: a client (service ID) as itself, a principal through the
        token service's client. A refused key is audited as ``apikey.auth_failed``."""
        from .services import authenticate_api_key

        key = authenticate_api_key(value) if isinstance(value, str) else None
        if key is None:
            record_api_key_refusal(value)
            return False
        owner = key.owner
        if owner.identity_type == "client":
            request.client, request.user = owner, None
        else:
            request.client, request.user = token_service_client(), owner
        request.client_id = request.client.client_id
        request.api_key = key  # what it issues is recorded against it (ApiKeyIssue)
        return True

    def get_api_key_scopes(self, request):
        """An API key's token carries every permission of its owner, as IBM's do: the engine still
        intersects the scope with what the owner holds at each request."""
        return ["*:*"]

    def _create_authorization_code(self, request, code, expires=None):
        """Store the code with the time the user signed in (the ID token's auth_time)."""
        claims = request.claims
        if isinstance(claims, str):
            try:
                claims = json.loads(claims)
            except ValueError:
                claims = {}
        claims = dict(claims) if isinstance(claims, dict) else {}
        claims.pop(CODE_STATE_KEY, None)
        request.claims = {**claims, CODE_STATE_KEY: {"auth_time": getattr(request, "auth_time", None),
                                                     "amr": list(getattr(request, "amr", None) or [])}}
        try:
            return super()._create_authorization_code(request, code, expires)
        finally:
            request.claims = claims or None

    def validate_code(self, client_id, code, client, request, *args, **kwargs):
        """Check the code and mark it used in the same locked step, so that it is good for one
        exchange only: a wrong code_verifier or redirect_uri after this point burns it. A code used
        a second time revokes the tokens its first exchange issued (RFC 6749 §4.1.2). A suspended
        principal's code is refused."""
        from .revocation import revoke_issued_from_code

        Grant = get_grant_model()
        with transaction.atomic():
            grant = (Grant.objects.select_for_update().select_related("user")
                     .filter(code=code, application=client).first())
            if grant is None:
                return False
            claims, state = _split_code_claims(grant.claims)
            if state.get("consumed"):
                state["reused"] = True
                grant.claims = _join_code_claims(claims, state)
                grant.save(update_fields=["claims"])
                revoke_issued_from_code(client, state.get("issued"), reason="authorization_code.reused")
                logger.warning("oauth.code_reused client_id=%s", client.client_id)
                return False
            if grant.is_expired() or grant.user is None or not grant.user.is_active:
                return False
            state["consumed"] = timezone.now().isoformat()
            grant.claims = _join_code_claims(claims, state)
            grant.expires = max(grant.expires, timezone.now() + CODE_REUSE_WINDOW)
            grant.save(update_fields=["claims", "expires"])
        request.scopes = grant.scope.split(" ")
        request.user = grant.user
        if grant.nonce:
            request.nonce = grant.nonce
        request.claims = claims or None
        request.auth_time = state.get("auth_time")
        request.amr = state.get("amr") if isinstance(state.get("amr"), list) else []
        return True

    def confirm_redirect_uri(self, client_id, code, redirect_uri, client, *args, **kwargs):
        """A redirect_uri other than the authorization request's is invalid_grant (RFC 6749 §5.2)."""
        if super().confirm_redirect_uri(client_id, code, redirect_uri, client, *args, **kwargs):
            return True
        raise errors.InvalidGrantError(
            description="redirect_uri does not match the one of the authorization request.",
            request=kwargs.get("request") or (args[0] if args else None))

    def invalidate_authorization_code(self, client_id, code, request, *args, **kwargs):
        """The code stays, marked with the tokens it issued, so that a second use can revoke them.
        If a second use came while this exchange ran, what it just issued is revoked at once."""
        from .revocation import revoke_issued_from_code

        issued = {"accessToken": getattr(request, "issued_access_token_id", None),
                  "family": getattr(request, "issued_token_family", None)}
        Grant = get_grant_model()
        with transaction.atomic():
            grant = Grant.objects.select_for_update().filter(code=code, application=request.client).first()
            if grant is None:
                revoke_issued_from_code(request.client, issued, reason="authorization_code.gone")
                raise errors.InvalidGrantError(request=request)
            claims, state = _split_code_claims(grant.claims)
            if state.get("reused"):
                revoke_issued_from_code(request.client, issued, reason="authorization_code.reused")
                raise errors.InvalidGrantError(description="The authorization code was used twice.", request=request)
            state["issued"] = issued
            grant.claims = _join_code_claims(claims, state)
            grant.save(update_fields=["claims"])

    def validate_refresh_token(self, refresh_token, client, request, *args, **kwargs):
        """DOT's checks (bound to the client, rotation, a replay revokes the family, expiry), and the
        principal must not be suspended. At the token service, a token that exists but is expired
        or whose principal is suspended is told apart from an unknown one (IBM answers them with
        different codes) — with one more query, on refusals only."""
        valid = super().validate_refresh_token(refresh_token, client, request, *args, **kwargs)
        if valid and via_token_service(request) and not self._api_key_still_usable(request):
            valid = False  # its key was disabled, deleted or expired: what it issued ends with it
        if valid and (request.user is None or request.user.is_active):
            return True
        if via_token_service(request) and (valid or self._expired_refresh_token(refresh_token, client)):
            raise errors.InvalidGrantError(description=REFRESH_TOKEN_EXPIRED, request=request)
        return False

    @staticmethod
    def _api_key_still_usable(request):
        """The refresh token's family began with an API key (or, issued before that was recorded,
        is tied to its principal's keys) that may all still be used (one query)."""
        family = getattr(getattr(request, "refresh_token_instance", None), "token_family", None)
        issues = list(ApiKeyIssue.objects.select_related("api_key__principal", "api_key__client")
                      .filter(token_family=family)) if family else []
        return bool(issues) and all(issue.api_key.is_usable() for issue in issues)

    @staticmethod
    def _expired_refresh_token(value, client):
        """True when ``value`` is a live (unrevoked) refresh token of ``client`` that DOT refused:
        its access token is gone or it outlived its lifetime."""
        checksum = hashlib.sha256(value.encode("utf-8")).hexdigest()
        return get_refresh_token_model().objects.filter(
            token_checksum=checksum, application=client, revoked__isnull=True).exists()

    def validate_bearer_token(self, token, scopes, request):
        """DOT's checks (expiry, scopes, client usable), and the principal must not be suspended:
        userinfo and every resource refuse its tokens at once."""
        if not super().validate_bearer_token(token, scopes, request):
            return False
        user = getattr(request, "user", None)
        if user is not None and not user.is_active:
            request.oauth2_error = {"error": "invalid_token",
                                    "error_description": "The token's principal is suspended."}
            return False
        return True

    def validate_jwt_bearer_token(self, token, scopes, request):
        """oauthlib's OIDC server routes JWT-shaped bearer tokens here. Ours are stored like any
        access token (by checksum), so they are checked the same way: revocation, expiry and
        suspension apply, not only the signature."""
        return self.validate_bearer_token(token, scopes, request)

    # --- OpenID Connect ------------------------------------------------------------------------

    def validate_silent_login(self, request):
        """prompt=none: the authorization view decides (it knows the session); see clients.views."""
        return True

    def validate_silent_authorization(self, request):
        """prompt=none: the authorization view decides whether consent is needed."""
        return True

    def refresh_id_token(self, request):
        """A refresh answers without a new ID token (OpenID Connect Core §12.2 allows it): its
        auth_time would have to be the original sign-in's, which the refresh chain does not carry."""
        return False

    def get_discovery_claims(self, request):
        return list(ISSUED_CLAIMS)

    def get_additional_claims(self, request):
        user = request.user
        claims = {"email": user.email, "email_verified": bool(user.properties.get("emailVerified", False))}
        name = user.properties.get("name")
        if name:
            claims["name"] = name
        claims["updated_at"] = int(user.updated_at.timestamp())
        return claims

    def get_id_token_dictionary(self, token, token_handler, request):
        """auth_time is when the user signed in for this authorization (stored with the code), not
        the principal's latest sign-in anywhere."""
        claims, expiration = super().get_id_token_dictionary(token, token_handler, request)
        auth_time = getattr(request, "auth_time", None)
        if auth_time:
            claims["auth_time"] = int(auth_time)
        claims.update(authentication_claims(request, with_time=False))
        return claims, expiration

    # --- tokens ------------------------------------------------------------------------------

    def _create_access_token(self, expires, request, token, source_refresh_token=None):
        access_token = super()._create_access_token(expires, request, token, source_refresh_token)
        request.issued_access_token_id = access_token.pk
        return access_token

    def _create_refresh_token(self, request, refresh_token_code, access_token, previous_refresh_token):
        refresh_token = super()._create_refresh_token(request, refresh_token_code, access_token,
                                                      previous_refresh_token)
        request.issued_token_family = str(refresh_token.token_family) if refresh_token.token_family else None
        return refresh_token

    def save_bearer_token(self, token, request, *args, **kwargs):
        """Store the token (DOT) and record ``token.issued`` in the same transaction — for every
        grant, the token service's included. The event names the client, subject, grant and scope —
        never a token value."""
        if "refresh_token" not in (request.client.grant_types or []):
            token.pop("refresh_token", None)  # the client is not allowed refresh tokens
        # DOT's save_bearer_token is this atomic block around _save_bearer_token; one block, not two.
        with transaction.atomic(using=router.db_for_write(get_access_token_model())):
            self._save_bearer_token(token, request, *args, **kwargs)
            key = getattr(request, "api_key", None)
            if key is not None:
                ApiKeyIssue.objects.create(api_key=key, access_token_id=getattr(request, "issued_access_token_id", None),
                                           token_family=getattr(request, "issued_token_family", None))
            subject = _token_subject(request)
            audit.record(
                "token.issued", request.client, actor=subject.iam_id, actor_type=subject.identity_type,
                details={"grantType": request.grant_type or "", "scope": token.get("scope", ""),
                         "subject": subject.iam_id, "refreshToken": "refresh_token" in token},
            )
            grant_type = request.grant_type or ""
            transaction.on_commit(lambda: metrics.token_issued(grant_type))  # counted once it stands

    def revoke_token(self, token, token_type_hint, request, *args, **kwargs):
        """Revoke (DOT) and record ``token.revoked`` when the token was the client's and live."""
        checksum = hashlib.sha256(token.encode("utf-8")).hexdigest()
        with transaction.atomic():
            application_pk = getattr(request.client, "pk", None)
            found = get_access_token_model().objects.filter(
                token_checksum=checksum, application_id=application_pk).values_list("id", flat=True).first()
            kind = "access_token"
            if found is None:
                found = get_refresh_token_model().objects.filter(
                    token_checksum=checksum, application_id=application_pk, revoked__isnull=True,
                ).values_list("id", flat=True).first()
                kind = "refresh_token"
            result = super().revoke_token(token, token_type_hint, request, *args, **kwargs)
            if found is not None:
                audit.record("token.revoked", request.client, actor=request.client.iam_id, actor_type="client",
                             details={"tokenType": kind, "tokenId": found})
            return result
