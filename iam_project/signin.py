"""The sign-in pages' hand-over after the password: the app that knows second factors registers its step
here, so the console's sign-in (plumbing) and the OAuth server's both use it without importing that app."""

_second_step = None


def register_second_step(step):
    """``step(request, user, redirect_to, face)`` returns a response that continues the sign-in (a
    second factor, an enrolment) instead of signing in now, or None to sign in at once."""
    global _second_step
    _second_step = step


def second_step(request, user, redirect_to, face):
    """The registered step's answer (None when no step is registered or none is needed)."""
    if _second_step is None:
        return None
    return _second_step(request, user, redirect_to, face)
