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
