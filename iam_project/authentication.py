"""API authentication: OAuth bearer tokens (principal or client identity) and the console session."""

from oauth2_provider.contrib.rest_framework import OAuth2Authentication
from rest_framework import authentication, exceptions

from . import authcache
from .cache import forget_request_reads
from .context import authenticate
from .stepup import from_session, from_token_claims, token_claims


class BearerTokenAuthentication(OAuth2Authentication):
    """A token acts as its principal, or — for the client-credentials grant — as its client.

    A suspended identity's tokens stop working at once: the check is made on every request.
    """

    def authenticate(self, request):
        value = bearer_value(request)
        result = authcache.cached_token(value, count=True) if value else None  # the warm path: no query
        if result is None:
            result = super().authenticate(request)
            if result is None:
                return None
            if value:
                authcache.remember_token(value, result[1])
            forget_request_reads()  # read ahead before the database path: read again after it
        user, token = result
        identity = user if user is not None else token.application
        if identity is None or not identity.is_active:
            raise exceptions.AuthenticationFailed("The token's identity is suspended or gone.")
        if token.application is not None and not token.application.is_active:
            raise exceptions.AuthenticationFailed("The token's client is suspended.")
        # The token's scopes cap everything it does; its claims say how its principal authenticated.
        authenticate(identity, scopes=(token.scope or "").split(),
                     authentication=from_token_claims(token_claims(self.presented_token(request))))
        return identity, token

    @staticmethod
    def presented_token(request):
        """The bearer value DOT just found stored (by its checksum): the JWT the server issued."""
        header = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _, value = header.partition(" ")
        return value.strip() if scheme.lower() == "bearer" else ""

    def authenticate_header(self, request):
        return 'Bearer realm="portcullis"'


def bearer_value(request):
    """The token of an ``Authorization: Bearer`` header, or None: any other form — or a token also sent as
    a parameter, which the database path refuses — takes the database path."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    django_request = getattr(request, "_request", request)
    if "access_token" in django_request.GET:
        return None
    content_type = request.META.get("CONTENT_TYPE", "")
    if content_type.startswith("multipart/") or (
            content_type.startswith("application/x-www-form-urlencoded") and b"access_token" in django_request.body):
        return None
    return value.strip()


class SessionAuthentication(authentication.SessionAuthentication):
    def authenticate(self, request):
        result = super().authenticate(request)
        if result is not None:
            # A session: no token cap; what its sign-in proved.
            authenticate(result[0], authentication=from_session(getattr(request._request, "session", None)))
        return result
