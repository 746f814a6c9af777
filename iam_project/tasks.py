"""Celery tasks of the platform: the outbox's relay (what could not be published after commit) and its purge."""

import logging

from celery import shared_task

from . import outbox

logger = logging.getLogger(__name__)


@shared_task
def relay_outbox():
    """Beat, every IAM_OUTBOX_RELAY_SECONDS: publish the outbox's due messages (pending after a broker
    failure or a process lost between commit and send; published but never handled). Idempotent."""
    sent = outbox.relay_due()
    if sent:
        logger.info("outbox.relayed count=%d pending=%d", sent, outbox.pending_count())
    return sent


@shared_task
def purge_outbox():
    """Beat, hourly: forget messages handled more than IAM_OUTBOX_RETENTION_DAYS ago."""
    count = outbox.purge()
    if count:
        logger.info("outbox.purged count=%d", count)
    return count
