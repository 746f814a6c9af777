"""Second-factor failures in the sign-in lock-out: counted by django-axes like a wrong password, per
username and per address, so guessing codes locks the account as guessing passwords does."""

from axes.handlers.proxy import AxesProxyHandler


def credentials_of(principal):
    return {"username": principal.email}


def is_locked(request, principal):
    return AxesProxyHandler.is_locked(request, credentials_of(principal))


def count_failure(request, principal):
    """Count one failure (django-axes: ``request.axes_locked_out`` is set when this begins a lock, and
    its middleware then answers with the lock-out page)."""
    AxesProxyHandler.user_login_failed(sender=count_failure, credentials=credentials_of(principal), request=request)
