"""Receivers that keep the sign-in session records in step with Django's sign-in and sign-out."""

from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.dispatch import receiver

from . import services


@receiver(user_logged_in, dispatch_uid="principals.sessions.handle_user_logged_in")
def handle_user_logged_in(sender, request, user, **kwargs):
    if request is not None:
        services.record_sign_in(request, user)


@receiver(user_logged_out, dispatch_uid="principals.sessions.handle_user_logged_out")
def handle_user_logged_out(sender, request, user, **kwargs):
    session = getattr(request, "session", None)
    if session is not None:
        services.forget_sign_in(session.session_key)
