"""django-oauth-toolkit's request validator, extended so that issuing and revoking tokens is audited."""

import hashlib

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
    def _check_secret(self, provided_secret, stored_secret):
        """An empty secret never matches: DOT would accept "" for a client that has no secret."""
        if not provided_secret or not stored_secret:
            return False
        return super()._check_secret(provided_secret, stored_secret)

    def save_bearer_token(self, token, request, *args, **kwargs):
        """Store the token (DOT) and record ``token.issued`` in the same transaction. The event
        names the client, subject, grant and scope — never a token value."""
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
            found = get_access_token_model().objects.filter(
                token_checksum=checksum, application=request.client).values_list("id", flat=True).first()
            kind = "access_token"
            if found is None:
                found = get_refresh_token_model().objects.filter(
                    token=token, application=request.client, revoked__isnull=True,
                ).values_list("id", flat=True).first()
                kind = "refresh_token"
            result = super().revoke_token(token, token_type_hint, request, *args, **kwargs)
            if found is not None:
                audit.record("token.revoked", request.client, actor=request.client.iam_id, actor_type="client",
                             details={"tokenType": kind, "tokenId": found})
            return result
