"""Celery tasks of clients: the purge of expired and revoked tokens (django-oauth-toolkit's cleartokens)."""

import logging

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task
def clear_expired_tokens():
    """Delete expired access tokens, expired grants and refresh tokens past their lifetime.
    Idempotent; run hourly by beat. The engine and DOT already refuse expired tokens."""
    from oauth2_provider.models import clear_expired

    clear_expired()
    logger.info("tokens.cleared")
