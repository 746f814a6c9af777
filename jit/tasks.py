"""Celery tasks of jit: the expiry of one grant at its exact time, the 30-second sweep, and the mail."""

import logging

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string

from iam_project import outbox
from iam_project.errors import NotFound

logger = logging.getLogger(__name__)

# The expiry and the mail must run: acknowledged only once done, and handed back to the queue if the
# worker process running them dies. A second delivery is recognised by its outbox message id.
MUST_RUN = {"acks_late": True, "reject_on_worker_lost": True}

SUBJECTS = {
    "requested": "Access request to review: {role}",
    "approved": "Your access to {role} is active",
    "denied": "Your request for {role} was denied",
    "revoked": "Your access to {role} was revoked",
    "expiring": "Your access to {role} ends soon",
    "expired": "Your access to {role} has ended",
}


@shared_task(bind=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5, **MUST_RUN)
def expire_grant(self, request_id, message_id=None):
    """Scheduled with ``eta`` = the grant's expiry. Does nothing if the grant is already over (the
    sweep, or an earlier delivery, ended it: ``expire`` checks under the request's lock), or not yet
    due (a worker clock ahead of the database's: the sweep then catches it)."""
    from .services import expire

    with transaction.atomic():
        if not outbox.claim(message_id):
            return
        try:
            expired = expire(request_id)
        except NotFound:  # the request is gone with its holder: nothing left to expire
            return
        if expired:
            logger.info("jit.expired request=%s by=eta", request_id)


@shared_task
def sweep_grants():
    """Beat, every 30 s: expire what is due (a lost or late ETA task), send the reminders."""
    from .services import sweep

    expired, reminded = sweep()
    if expired or reminded:
        logger.info("jit.sweep expired=%d reminded=%d", expired, reminded)
    return expired, reminded


def _recipients(kind, request):
    """Approvers (holders of jit/requests:approve and the role, other than the requester) for a new
    request; the requester for everything else. Clients have no mailbox."""
    from django.contrib.auth import get_user_model

    from .services import _ensure_can_decide

    if kind != "requested":
        principal = request.principal
        return [principal.email] if principal is not None and not principal.suspended else []
    holders = get_user_model().objects.filter(
        suspended=False, bindings__isnull=False).distinct()
    emails = []
    for candidate in holders:
        try:
            _ensure_can_decide(candidate, request)
        except Exception:  # noqa: BLE001 — any refusal means: not an approver
            continue
        emails.append(candidate.email)
    return sorted(emails)


@shared_task(bind=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5, **MUST_RUN)
def send_jit_mail(self, kind, request_id, message_id=None):
    """Mail about one request. Delivered twice (``message_id``, the outbox message), it mails once;
    a failed send is retried (the claim is rolled back with it)."""
    from .durations import format_duration
    from .models import AccessRequest

    with transaction.atomic():
        if not outbox.claim(message_id):
            return 0
        request = (AccessRequest.objects.select_related("role", "principal", "approver_role")
                   .filter(pk=request_id).first())
        if request is None:
            return 0
        recipients = _recipients(kind, request)
        if not recipients:
            return 0
        context = {"request": request, "kind": kind, "duration": format_duration(request.duration),
                   "site_url": settings.IAM_SITE_URL}
        send_mail(
            subject=SUBJECTS[kind].format(role=request.role.key),
            message=render_to_string(f"mail/jit_{kind}.txt", context),
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=recipients,
        )
    logger.info("jit.mail kind=%s request=%s recipients=%d", kind, request_id, len(recipients))
    return len(recipients)
