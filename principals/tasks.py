"""Celery tasks of principals: the temporary-password mail."""

import logging

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string

logger = logging.getLogger(__name__)


@shared_task(bind=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_temporary_password(self, principal_id):
    """Make a temporary password and mail it; the password is set only if the mail goes out.

    Safe to retry: each run makes a fresh password, and a failed send rolls the change back.
    """
    from .services import issue_temporary_password

    with transaction.atomic():
        principal, password = issue_temporary_password(principal_id)
        context = {"principal": principal, "password": password, "site_url": settings.IAM_SITE_URL}
        send_mail(
            subject="Your temporary Portcullis password",
            message=render_to_string("mail/temporary_password.txt", context),
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[principal.email],
        )
    logger.info("password.reset.sent iam_id=%s", principal.iam_id)
