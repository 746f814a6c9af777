"""Celery tasks of the IBM face: building activity reports over the audit trail."""

import logging

from celery import shared_task
from django.db import transaction

from iam_project import outbox

logger = logging.getLogger(__name__)


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True)
def build_activity_report(self, reference, message_id=None):
    """Build the report asked for (``ibmcloud.services.create_activity_report``); a second delivery, or a
    report already built, does nothing."""
    from .services import build_activity_report as build

    with transaction.atomic():
        if not outbox.claim(message_id):
            return
        report = build(reference)
    if report is not None:
        logger.info("ibm.activity_report_built reference=%s users=%d", reference, len(report.result["users"]))
