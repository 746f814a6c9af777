"""Celery tasks of principals: the temporary-password mail."""

import logging

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string

logger = logging.getLogger(__name__)


@shared_task(bind=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_temporary_password(self, principal_id, stamp=None):
    """Make a temporary password and mail it; the password is set only if the mail goes out.
    Nothing is sent when ``stamp`` (the principal's security stamp when the reset was asked for) has
    changed since: an email change voids pending resets.

    Safe to retry: each run makes a fresh password, and a failed send rolls the change back.
    """
    from .services import issue_temporary_password

    with transaction.atomic():
        principal, password = issue_temporary_password(principal_id, stamp)
        if password is None:
            logger.warning("password.reset.void iam_id=%s reason=stamp_changed_or_suspended", principal.iam_id)
            return
        context = {"principal": principal, "password": password, "site_url": settings.IAM_SITE_URL}
        send_mail(
            subject="Your temporary Portcullis password",
            message=render_to_string("mail/temporary_password.txt", context),
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[principal.email],
        )
    logger.info("password.reset.sent iam_id=%s", principal.iam_id)


@shared_task(bind=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_email_changed_notice(self, principal_id, old_email, changed_by):
    """Tell the old address that someone else changed the principal's email (no secret in it)."""
    from django.contrib.auth import get_user_model

    principal = get_user_model().objects.filter(pk=principal_id).first()
    if principal is None:
        return
    context = {"principal": principal, "old_email": old_email, "changed_by": changed_by,
               "site_url": settings.IAM_SITE_URL}
    send_mail(
        subject="Your Portcullis sign-in email was changed",
        message=render_to_string("mail/email_changed.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[old_email],
    )
    logger.info("principal.email_change_notice.sent iam_id=%s", principal.iam_id)
