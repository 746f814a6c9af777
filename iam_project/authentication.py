"""API authentication: OAuth bearer tokens (principal or client identity) and the console session."""

from oauth2_provider.contrib.rest_framework import OAuth2Authentication
from rest_framework import authentication, exceptions

from .context import authenticate
from .stepup import from_session, from_token_claims, token_claims


class BearerTokenAuthentication(OAuth2Authentication):
    """A token acts as its principal, or — for the client-credentials grant — as its client.

    A suspended identity's tokens stop working at once: the check is made on every request.
    """

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is None:
            return None
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


class SessionAuthentication(authentication.SessionAuthentication):
    def authenticate(self, request):
        result = super().authenticate(request)
        if result is not None:
            # A session: no token cap; what its sign-in proved.
            authenticate(result[0], authentication=from_session(getattr(request._request, "session", None)))
        return result
