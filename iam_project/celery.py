"""The Celery application: configured from Django settings (CELERY_*), tasks found in each app's tasks.py."""

import os

import redis.exceptions
from celery import Celery
from celery.signals import task_prerun, task_postrun
from kombu.transport import redis as kombu_redis

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "iam_project.settings")


class RedisChannel(kombu_redis.Channel):
    """A Redis broker channel that, once its connection is gone, says so as a connection error.

    When the broker goes away while a worker holds unacknowledged tasks (an ETA task waiting for its
    time, a task in progress), Celery 5.7 releases the lost connection and then still uses its
    channel — to give those tasks back, to acknowledge a task that finishes after the reconnection.
    The Redis transport then fails with AttributeError (its connection is None), which Celery does not
    expect there: the worker stops with "Unrecoverable error" instead of reconnecting. Raised as the
    connection error it is, Celery logs it and goes on; the tasks stay unacknowledged in Redis (and in
    the outbox), so nothing is lost (tests/e2e/test_faults_tasks.py stops the broker under a worker).
    """

    def _connparams(self, asynchronous=False):
        if self.connection.client is None:
            raise redis.exceptions.ConnectionError("This channel's broker connection was closed.")
        return super()._connparams(asynchronous=asynchronous)


class RedisTransport(kombu_redis.Transport):
    """kombu's Redis transport with RedisChannel (CELERY_BROKER_TRANSPORT for redis:// brokers)."""

    Channel = RedisChannel


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
