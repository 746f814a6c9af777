"""Access tokens as signed JWTs in the RFC 9068 profile, verifiable by any resource server from the JWKS.

django-oauth-toolkit calls ``signed_access_token`` (setting ``ACCESS_TOKEN_GENERATOR``) for every
access token it issues and still stores the token by its SHA-256 checksum, so a token can be
revoked and introspected, and every request re-checks it against the database.
"""

import time
import uuid
from functools import lru_cache

from jwcrypto import jwk, jwt
from oauth2_provider.settings import oauth2_settings


@lru_cache(maxsize=4)
def _key(pem):
    return jwk.JWK.from_pem(pem.encode())


def signing_key():
    return _key(oauth2_settings.OIDC_RSA_PRIVATE_KEY)


def token_subject(request):
    """``sub``: the principal's id, or — for the client-credentials grant — the client's."""
    user = getattr(request, "user", None)
    if user is not None and getattr(user, "pk", None) is not None:
        return str(user.pk)
    return str(request.client.client_id)


def signed_access_token(request, refresh_token=False):
    key = signing_key()
    now = int(time.time())
    issuer = oauth2_settings.oidc_issuer(request)
    claims = {
        "iss": issuer,
        "sub": token_subject(request),
        "aud": getattr(request, "resource", None) or issuer,
        "iat": now,
        "nbf": now,
        "exp": now + int(request.expires_in),
        "jti": uuid.uuid4().hex,
        "client_id": str(request.client.client_id),
        "scope": " ".join(request.scopes or []),
    }
    user = getattr(request, "user", None)
    claims["iam_id"] = getattr(user, "iam_id", None) or request.client.iam_id
    token = jwt.JWT(header={"alg": "RS256", "typ": "at+jwt", "kid": key.thumbprint()}, claims=claims)
    token.make_signed_token(key)
    return token.serialize()


def issue_token_pair(identity, application, issuer, scope="*:*", grant_type="", family=None, extra_claims=None):
    """Issue an access token (the same RFC 9068 JWT as the OAuth server's, stored by checksum) and a
    refresh token for a principal (``"not_supported"`` for a client) — used by the IBM-compatible
    token endpoint. The access token's
    life is cut to the identity's earliest just-in-time grant. Returns (access, refresh values,
    expires_in, iat)."""
    import secrets as _secrets
    from datetime import timedelta

    from django.utils import timezone
    from oauth2_provider.models import get_access_token_model, get_refresh_token_model, set_token_value

    from jit.services import token_lifetime_cap

    from django.conf import settings as django_settings

    default = int(getattr(django_settings, "IAM_ACCESS_TOKEN_DEFAULT_SECONDS", 900))
    expires_in = token_lifetime_cap(identity, default)
    key = signing_key()
    now = int(time.time())
    principal = identity if identity.identity_type == "principal" else None
    claims = {
        "iss": issuer, "sub": str(identity.pk) if principal else str(identity.client_id), "aud": issuer,
        "iat": now, "nbf": now, "exp": now + expires_in, "jti": uuid.uuid4().hex,
        "client_id": str(application.client_id), "scope": scope, "iam_id": identity.iam_id,
        "grant_type": grant_type, **(extra_claims or {}),
    }
    token = jwt.JWT(header={"alg": "RS256", "typ": "at+jwt", "kid": key.thumbprint()}, claims=claims)
    token.make_signed_token(key)
    access_value = token.serialize()
    AccessToken, RefreshToken = get_access_token_model(), get_refresh_token_model()
    access = AccessToken(user=principal, application=application, scope=scope,
                         expires=timezone.now() + timedelta(seconds=expires_in))
    set_token_value(access, access_value)
    access.save()
    if principal is None:
        # As IBM answers for service IDs: a client holds its own key and asks again, it gets no
        # refresh token (django-oauth-toolkit's refresh tokens belong to a user, too).
        return access_value, "not_supported", expires_in, now
    refresh_value = _secrets.token_urlsafe(48)
    refresh = RefreshToken(user=principal, application=application, access_token=access,
                           token_family=family or uuid.uuid4())
    set_token_value(refresh, refresh_value)
    refresh.save()
    access.source_refresh_token = refresh
    access.save(update_fields=["source_refresh_token"])
    return access_value, refresh_value, expires_in, now
