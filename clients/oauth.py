"""django-oauth-toolkit's request validator: client secrets by digest, grant lists, OIDC claims, audit.

Extended through DOT's ``OAUTH2_VALIDATOR_CLASS`` setting, never by copying its views.
"""

import base64
import binascii
import hashlib
from urllib.parse import unquote_plus

from django.db import transaction
from oauth2_provider.models import get_access_token_model, get_refresh_token_model
from oauth2_provider.oauth2_validators import OAuth2Validator

import audit


def _token_subject(request):
    """The identity the token acts as: the signed-in principal, or the client itself."""
    user = getattr(request, "user", None)
    if user is not None and getattr(user, "iam_id", None):
        return user
    return request.client


class IAMOAuth2Validator(OAuth2Validator):
    # Which scope releases which ID token / userinfo claim.
    oidc_claim_scope = {"sub": "openid", "email": "email", "email_verified": "email", "name": "profile",
                        "updated_at": "profile"}

    def _client_credentials(self, request):
        """(client_id, client_secret) from HTTP Basic (preferred, RFC 6749 §2.3.1) or the body."""
        auth = self._extract_basic_auth(request)
        if auth:
            try:
                decoded = base64.b64decode(auth, validate=True).decode("utf-8")
                client_id, secret = map(unquote_plus, decoded.split(":", 1))
                return client_id, secret
            except (binascii.Error, UnicodeDecodeError, ValueError):
                return None, None
        return getattr(request, "client_id", None), getattr(request, "client_secret", None)

    def authenticate_client(self, request, *args, **kwargs):
        """A confidential client proves itself with one of its live secrets, checked by SHA-256
        digest (clients.services.authenticate_secret) — no password hasher, no plaintext."""
        from .services import authenticate_secret

        client_id, secret = self._client_credentials(request)
        if not client_id or not secret:
            return False
        if self._load_application(client_id, request) is None or request.client.client_id != client_id:
            return False
        return authenticate_secret(request.client, secret)

    def validate_jwt_bearer_token(self, token, scopes, request):
        """oauthlib's OIDC server routes JWT-shaped bearer tokens here. Ours are stored like any
        access token (by checksum), so they are checked the same way: revocation, expiry and
        suspension apply, not only the signature."""
        return self.validate_bearer_token(token, scopes, request)

    def validate_grant_type(self, client_id, grant_type, client, request, *args, **kwargs):
        """The client's own grant list decides, refresh_token included."""
        if grant_type == "refresh_token":
            return "refresh_token" in (request.client.grant_types or [])
        return super().validate_grant_type(client_id, grant_type, client, request, *args, **kwargs)

    def get_additional_claims(self, request):
        user = request.user
        claims = {"email": user.email, "email_verified": bool(user.properties.get("emailVerified", False))}
        name = user.properties.get("name")
        if name:
            claims["name"] = name
        claims["updated_at"] = int(user.updated_at.timestamp())
        return claims

    def save_bearer_token(self, token, request, *args, **kwargs):
        """Store the token (DOT) and record ``token.issued`` in the same transaction. The event
        names the client, subject, grant and scope — never a token value."""
        if "refresh_token" not in (request.client.grant_types or []):
            token.pop("refresh_token", None)  # the client is not allowed refresh tokens
        with transaction.atomic():
            super().save_bearer_token(token, request, *args, **kwargs)
            subject = _token_subject(request)
            audit.record(
                "token.issued", request.client, actor=subject.iam_id, actor_type=subject.identity_type,
                details={"grantType": request.grant_type or "", "scope": token.get("scope", ""),
                         "subject": subject.iam_id, "refreshToken": "refresh_token" in token},
            )

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
