"""Receivers of the clients app: the sign-in time each session keeps for OpenID Connect (auth_time, max_age),
and the revocation of an identity's tokens when its credentials are invalidated."""

import time

from django.contrib.auth.signals import user_logged_in

from iam_project.hooks import credentials_invalidated

# When the session's user last signed in (seconds since the epoch): the ID token's auth_time and
# the yardstick for max_age.
AUTH_TIME_SESSION_KEY = "oauth_auth_time"


def handle_user_logged_in(sender, request, user, **kwargs):
    """Record when this session's user signed in. Side effect: writes one session key."""
    session = getattr(request, "session", None)
    if session is not None:
        session[AUTH_TIME_SESSION_KEY] = time.time()


def handle_credentials_invalidated(sender, identity, reason, **kwargs):
    """Revoke every token of the identity, in the sender's transaction (see clients.revocation)."""
    from .revocation import revoke_tokens

    revoke_tokens(identity, reason)


def connect():
    user_logged_in.connect(handle_user_logged_in, dispatch_uid="clients.auth_time")
    credentials_invalidated.connect(handle_credentials_invalidated, dispatch_uid="clients.revoke_tokens")
