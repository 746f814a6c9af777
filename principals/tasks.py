"""Celery tasks of principals: the temporary-password mail and the email-change notice."""

import logging

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string

from iam_project import outbox
from iam_project.errors import NotFound

logger = logging.getLogger(__name__)

# Both mails must go out: acknowledged only once sent, and handed back to the queue if the worker
# process running them dies (reject_on_worker_lost). A second delivery is recognised by its outbox
# message id and does nothing.
MUST_RUN = {"acks_late": True, "reject_on_worker_lost": True}


@shared_task(bind=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5, **MUST_RUN)
def send_temporary_password(self, principal_id, stamp=None, message_id=None):
    """Make a temporary password and mail it; the password is set only if the mail goes out.
    Nothing is sent when ``stamp`` (the principal's security stamp when the reset was asked for) has
    changed since: an email change voids pending resets.

    Safe to retry: each run makes a fresh password, and a failed send rolls the change back. Delivered
    twice (``message_id``, the outbox message), it mails once: one reset request, one password.
    """
    from .services import issue_temporary_password

    with transaction.atomic():
        if not outbox.claim(message_id):
            return
        try:
            principal, password = issue_temporary_password(principal_id, stamp)
        except NotFound:  # deleted since the reset was asked for
            logger.warning("password.reset.void principal=%s reason=deleted", principal_id)
            return
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


@shared_task(bind=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5, **MUST_RUN)
def send_email_changed_notice(self, principal_id, old_email, changed_by, message_id=None):
    """Tell the old address that someone else changed the principal's email (no secret in it). Delivered
    twice (``message_id``), it mails once."""
    from django.contrib.auth import get_user_model

    with transaction.atomic():
        if not outbox.claim(message_id):
            return
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
