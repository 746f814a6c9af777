"""Portcullis project package: settings, URL map, Celery app and the plumbing every app shares."""

from .celery import app as celery_app

__all__ = ("celery_app",)
