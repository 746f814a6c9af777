"""The Celery application: configured from Django settings (CELERY_*), tasks found in each app's tasks.py."""

import os

from celery import Celery
from celery.signals import task_prerun, task_postrun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "iam_project.settings")

app = Celery("iam_project")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

_task_contexts = {}


@task_prerun.connect
def handle_task_prerun(task_id=None, task=None, **kwargs):
    """Every task runs with the system actor in the request context, so its writes are attributed."""
    from iam_project.context import SYSTEM_ACTOR, request_context

    manager = request_context(actor=SYSTEM_ACTOR, request_id=f"task-{task_id}")
    manager.__enter__()
    _task_contexts[task_id] = manager


@task_postrun.connect
def handle_task_postrun(task_id=None, **kwargs):
    manager = _task_contexts.pop(task_id, None)
    if manager is not None:
        manager.__exit__(None, None, None)
