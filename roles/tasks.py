"""Celery tasks of roles: the sweep of expired bindings (the engine ignores them already)."""

import logging

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task
def purge_expired_bindings():
    """Delete expired non-JIT bindings (JIT grants are expired by the jit app, with their request)."""
    from .services import purge_expired_bindings as purge

    count = purge()
    if count:
        logger.info("bindings.purged count=%d", count)
    return count
