"""Celery tasks of jit: the expiry of one grant at its exact time, the 30-second sweep, and the mail."""

import logging

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string

logger = logging.getLogger(__name__)

SUBJECTS = {
    "requested": "Access request to review: {role}",
    "approved": "Your access to {role} is active",
    "denied": "Your request for {role} was denied",
    "revoked": "Your access to {role} was revoked",
    "expiring": "Your access to {role} ends soon",
    "expired": "Your access to {role} has ended",
}


@shared_task(bind=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def expire_grant(self, request_id):
    """Scheduled with ``eta`` = the grant's expiry. Does nothing if the grant is already over, or
    not yet due (a worker clock ahead of the database's: the sweep then catches it)."""
    from .services import expire

    if expire(request_id):
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


@shared_task(bind=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_jit_mail(self, kind, request_id):
    """Mail about one request. Idempotent enough to retry: a mail may at worst be sent twice."""
    from .durations import format_duration
    from .models import AccessRequest

    request = AccessRequest.objects.select_related("role", "principal", "approver_role").filter(pk=request_id).first()
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
