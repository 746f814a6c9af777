"""Access tokens as signed JWTs in the RFC 9068 profile, verifiable by any resource server from the JWKS.

django-oauth-toolkit calls ``signed_access_token`` (setting ``ACCESS_TOKEN_GENERATOR``) for every
access token its server issues — every grant, the token service's API-key grant included — so this
is the one place that builds claims. The server still stores each token by its SHA-256 checksum, so
a token can be revoked and introspected, and every request re-checks it against the database.
Refresh tokens are opaque (``opaque_refresh_token``, setting ``REFRESH_TOKEN_GENERATOR``).
"""

import secrets
import time
import uuid
from functools import lru_cache

from django.conf import settings
from django.utils.module_loading import import_string
from jwcrypto import jwk, jwt
from oauth2_provider.settings import oauth2_settings

from .grants import via_token_service

REFRESH_TOKEN_PREFIX = "prt_"


@lru_cache(maxsize=4)
def _key(pem):
    return jwk.JWK.from_pem(pem.encode())


def signing_key():
    return _key(oauth2_settings.OIDC_RSA_PRIVATE_KEY)


def token_subject(request):
    """``sub``: the principal's id, or — for the client-credentials grant and a service ID's API
    key — the client's."""
    user = getattr(request, "user", None)
    if user is not None and getattr(user, "pk", None) is not None:
        return str(user.pk)
    return str(request.client.client_id)


def token_service_claims(request):
    """The claims a token issued at the token service carries besides the standard ones: the grant
    it came from, and what the face behind the token service adds (setting
    ``IAM_TOKEN_SERVICE_CLAIMS``, a callable taking the oauthlib request — the IBM face's account)."""
    claims = {"grant_type": request.grant_type}
    hook = getattr(settings, "IAM_TOKEN_SERVICE_CLAIMS", None)
    if hook:
        claims.update((import_string(hook) if isinstance(hook, str) else hook)(request))
    return claims


def signed_access_token(request):
    """The access token for the oauthlib ``request`` the server is answering: ``exp`` is now plus
    the lifetime the server computed (``request.expires_in``, already capped by just-in-time grants)."""
    key = signing_key()
    now = int(time.time())
    issuer = oauth2_settings.oidc_issuer(request)
    user = getattr(request, "user", None)
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
        "iam_id": getattr(user, "iam_id", None) or request.client.iam_id,
    }
    if via_token_service(request):
        claims.update(token_service_claims(request))
    # How the principal signed in (RFC 9068 §2.2.1: auth_time, amr, acr), so that any verifier of the JWT
    # can apply step-up (iam_project.stepup) without asking the server.
    from .oauth import authentication_claims

    claims.update(authentication_claims(request))
    token = jwt.JWT(header={"alg": "RS256", "typ": "at+jwt", "kid": key.thumbprint()}, claims=claims)
    token.make_signed_token(key)
    return token.serialize()


def opaque_refresh_token(request):
    """A refresh token: 256 random bits with a recognisable prefix, meaningful to this server only.
    Not a JWT — oauthlib would otherwise mint refresh tokens with the access-token generator, and a
    resource server verifying JWTs offline would take one for an access token."""
    return REFRESH_TOKEN_PREFIX + secrets.token_urlsafe(32)
