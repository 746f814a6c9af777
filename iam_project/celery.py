"""The Celery application: configured from Django settings (CELERY_*), tasks found in each app's tasks.py."""

import logging
import os

from celery import Celery
from celery.signals import task_prerun, task_postrun
from celery.worker.consumer import Consumer as CeleryConsumer

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "iam_project.settings")
logger = logging.getLogger(__name__)


class Consumer(CeleryConsumer):
    """The worker's consumer (CELERY_WORKER_CONSUMER), surviving the loss of a Redis broker.

    When the broker goes away while the worker holds an unacknowledged task (an ETA task waiting for
    its time, a task in progress), Celery 5.7 closes the lost connection a second time after
    collecting it, and the Redis transport, already released, raises AttributeError from that close:
    the worker stops with "Unrecoverable error" instead of reconnecting. The close is only cleanup —
    the tasks stay unacknowledged in Redis (and in the outbox) — so that error is logged and the
    worker goes on to reconnect (tests/e2e/test_faults_tasks.py stops the broker under a worker).
    """

    def on_connection_error_after_connected(self, exc):
        connection = self.connection
        if connection is not None:
            close = connection.close

            def close_released(*args, **kwargs):
                try:
                    return close(*args, **kwargs)
                except AttributeError:
                    logger.warning("worker.broker_lost close=failed reason=transport_released")

            connection.close = close_released  # this connection is dropped right after
        super().on_connection_error_after_connected(exc)

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
