"""The transactional outbox: tasks are written in the writer's transaction and relayed to Celery after commit.

A service calls ``enqueue("app.tasks.name", args=[...], eta=...)`` inside its transaction: the message is a
row committed (or rolled back) with everything else the transaction wrote, so no commit goes without its
task and no rolled-back write sends one. One hook per transaction publishes the transaction's messages right
after commit; what it could not publish (broker down, process gone between commit and send) the beat job
``iam_project.tasks.relay_outbox`` publishes later, with backoff. A message published but not handled in
time (a worker killed outright: Redis gives its unacknowledged message back only after the visibility
timeout) is published again; handlers call ``claim(message_id)`` in their own transaction, so a message
delivered twice is handled once.

The outbox stores the task's *name* and JSON arguments and resolves the task through Celery's registry when
it relays: the plumbing imports no app. Nothing secret goes in: a task that needs a secret makes it itself.
"""

import json
import logging
import re
import threading
import time
import uuid
from contextlib import nullcontext
from datetime import timedelta

from django.core import checks
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from .celery import app
from .conf import iam_settings

logger = logging.getLogger(__name__)

MAX_REDELIVERY_DELAY = timedelta(days=1)
# One reconnection (a pooled connection to a Redis restarted since is dead), then the outbox's own retry:
# a broker that is down costs a request milliseconds, one that hangs the broker's socket timeout.
PUBLISH_RETRY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}


class OutboxStatus(models.TextChoices):
    PENDING = "pending", "pending"  # not yet handed to the broker
    SENT = "sent", "sent"  # handed to the broker; published again if not handled by next_attempt_at
    DONE = "done", "done"  # a handler claimed it (kept OUTBOX_RETENTION_DAYS against late duplicates)


class OutboxMessage(models.Model):
    """One task to run, written in the transaction that asked for it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    task = models.CharField(max_length=200)
    args = models.JSONField(default=list, blank=True)
    kwargs = models.JSONField(default=dict, blank=True)
    eta = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=8, choices=OutboxStatus.choices, default=OutboxStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)  # publications tried
    deliveries = models.PositiveIntegerField(default=0)  # publications the broker took
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        app_label = "platform"
        ordering = ["created_at"]
        indexes = [
            # The relay's scan: what is not done, by when it is due.
            models.Index(fields=["next_attempt_at"], condition=~models.Q(status="done"), name="outbox_due_idx"),
            models.Index(fields=["status", "done_at"], name="outbox_status_done_idx"),
        ]

    def __str__(self):
        return f"{self.task} [{self.status}]"


# --- writing ---------------------------------------------------------------------------------------

def enqueue(task, args=(), kwargs=None, eta=None, using=None):
    """Write a message for ``task`` (a registered Celery task's name) in the current transaction; it is
    published after commit. ``args`` and ``kwargs`` must be JSON (primary keys, not objects; never a
    secret). ``eta``: run no earlier than this (aware datetime). Returns the message.

    Writes one row; registers one after-commit hook per transaction."""
    _task(task)  # a misspelt name fails here, in the writer's tests, not in a relay later
    args, kwargs = list(args), dict(kwargs or {})
    if "message_id" in kwargs:
        raise ValueError("message_id is set by the outbox.")
    json.dumps([args, kwargs])  # TypeError for what the broker's JSON could not carry either
    if eta is not None and timezone.is_naive(eta):
        raise ValueError("eta must be an aware datetime.")
    message = OutboxMessage.objects.using(using).create(task=task, args=args, kwargs=kwargs, eta=eta)
    _add_to_batch(message.pk, using)
    return message


class _Batch:
    """The messages of one transaction, published by one after-commit hook."""

    def __init__(self, using):
        self.using, self.ids, self.closed = using, [], False

    def __call__(self):
        self.closed = True
        if time.monotonic() < _paused_until:
            # The broker failed moments ago in this process: the beat relay sends these, and this
            # request does not wait for a broker that is down.
            logger.info("outbox.deferred count=%d reason=broker_failed_recently", len(self.ids))
            return
        relay(ids=self.ids, using=self.using)


def _add_to_batch(message_id, using):
    """Add the message to this transaction's batch: the one whose hook is still registered on the
    connection, else a new one with its own hook.

    A rollback (of the transaction, or of the savepoint the hook was registered in) discards the hook, and
    with it the batch; the messages it named are gone too. Outside a transaction the hook runs at once."""
    connection = transaction.get_connection(using)
    batch = getattr(connection, "_outbox_batch", None)
    if batch is not None and not batch.closed and any(entry[1] is batch for entry in connection.run_on_commit):
        batch.ids.append(message_id)
        return
    batch = _Batch(using)
    batch.ids.append(message_id)
    connection._outbox_batch = batch
    transaction.on_commit(batch, using=using, robust=True)


# --- relaying --------------------------------------------------------------------------------------

_paused_until = 0.0  # monotonic time until which after-commit hooks leave publishing to the beat relay
_importing = threading.Lock()


def relay(ids=None, limit=None, now=None, using=None):
    """Publish messages: those named by ``ids`` that are still pending (the after-commit hook), or else the
    due ones, oldest first — pending, or published but not handled in time. Rows another relay holds are
    skipped, so two relays never publish one message at once. Returns the number published.

    Writes each message's status, counts and next attempt; publishes to the broker (with
    ``CELERY_TASK_ALWAYS_EAGER``, runs the task here)."""
    return _relay(ids, limit, now, using)[0]


def relay_due(now=None, everything=False):
    """The beat job: relay batch after batch of due messages until none is left or the broker fails.
    ``everything``: every message not yet handled, due or not (an operator's "now", after the broker
    lost what it held). Returns the number published."""
    total, started = 0, now or timezone.now()
    while True:
        sent, broker_failed = _relay(None, None, now, None, before=started if everything else None)
        total += sent
        if broker_failed or sent < iam_settings.OUTBOX_BATCH:
            return total


def _relay(ids, limit, now, using, before=None):
    global _paused_until
    now = now or timezone.now()
    broker_failed, sent = False, 0
    with transaction.atomic(using=using):
        rows = OutboxMessage.objects.using(using).select_for_update(skip_locked=True).order_by(
            "next_attempt_at", "created_at")
        if ids is not None:
            rows = rows.filter(pk__in=list(ids), status=OutboxStatus.PENDING)
        elif before is not None:  # everything not handled, each once: not what this run has just sent
            rows = rows.exclude(status=OutboxStatus.DONE).exclude(sent_at__gte=before)[
                :limit or iam_settings.OUTBOX_BATCH]
        else:
            rows = rows.exclude(status=OutboxStatus.DONE).filter(next_attempt_at__lte=now)[
                :limit or iam_settings.OUTBOX_BATCH]
        messages = list(rows)
        if not messages:
            return 0, False
        with _producer() as producer:
            for position, message in enumerate(messages):
                try:
                    _publish(message, producer, now, using)
                except BrokerError as exc:
                    # The broker is unreachable: the rest of the batch would fail the same way, slowly.
                    broker_failed = True
                    for unsent in messages[position:]:
                        _failed(unsent, exc, using)
                    break
                except Exception as exc:  # noqa: BLE001 — an unknown task, or an eager task that failed
                    _failed(message, exc, using)
                else:
                    sent += 1
    if broker_failed:
        _paused_until = time.monotonic() + iam_settings.OUTBOX_PAUSE_SECONDS
    elif sent:
        _paused_until = 0.0
    return sent, broker_failed


def _producer():
    """One broker connection for the batch (none when tasks run eagerly)."""
    if app.conf.task_always_eager:
        return nullcontext(None)
    return app.producer_or_acquire()


def _publish(message, producer, now, using):
    task = _task(message.task)
    redelivery = message.status == OutboxStatus.SENT
    with transaction.atomic(using=using):  # an eager task's failure undoes its own writes and this mark only
        message.status, message.sent_at, message.last_error = OutboxStatus.SENT, now, ""
        message.attempts += 1
        message.deliveries += 1
        delay = timedelta(seconds=iam_settings.OUTBOX_REDELIVER_SECONDS) * 2 ** (message.deliveries - 1)
        message.next_attempt_at = max(now, message.eta or now) + min(delay, MAX_REDELIVERY_DELAY)
        message.save(update_fields=["status", "sent_at", "last_error", "attempts", "deliveries", "next_attempt_at"])
        task.apply_async(args=message.args, kwargs={**message.kwargs, "message_id": str(message.pk)},
                         eta=message.eta, task_id=str(message.pk), producer=producer,
                         retry=True, retry_policy=PUBLISH_RETRY)
    log = logger.warning if redelivery else logger.info
    log("outbox.%s message=%s task=%s deliveries=%d", "redelivered" if redelivery else "sent", message.pk,
        message.task, message.deliveries)


def _failed(message, exc, using):
    """Count a failed publication and put the next try off (doubling, up to OUTBOX_RETRY_MAX_SECONDS)."""
    message.refresh_from_db(using=using)  # the savepoint that marked it sent was rolled back
    failures = message.attempts - message.deliveries + 1
    delay = min(iam_settings.OUTBOX_RETRY_SECONDS * 2 ** (failures - 1), iam_settings.OUTBOX_RETRY_MAX_SECONDS)
    message.attempts += 1
    message.next_attempt_at = timezone.now() + timedelta(seconds=delay)  # from the failure: it may be slow
    message.last_error = _describe(exc)
    message.save(update_fields=["attempts", "next_attempt_at", "last_error"])
    logger.warning("outbox.send_failed message=%s task=%s attempts=%d retry_in=%ss error=%s", message.pk,
                   message.task, message.attempts, delay, type(exc).__name__)


def _describe(exc):
    """The error for the row: its class and text, with any credentials in a URL masked."""
    text = re.sub(r"(\w+://)[^@/\s]*@", r"\1***@", f"{type(exc).__name__}: {exc}")
    return text[:300]


def _task(name):
    """The registered task called ``name``; the apps' task modules are imported on first use (under a
    lock: a thread must not look while another is half-way through importing them)."""
    if name not in app.tasks:
        with _importing:
            app.loader.import_default_modules()
    try:
        return app.tasks[name]
    except KeyError:
        raise LookupError(f"No Celery task is registered as {name!r}.") from None


# --- handling --------------------------------------------------------------------------------------

def claim(message_id, using=None):
    """For a handler, inside its transaction: True the first time message ``message_id`` is handled (it is
    marked done — kept only if the handler's transaction commits), False when it already was (a duplicate
    delivery: do nothing). A handler called without a message id (directly, not through the outbox) always
    proceeds. A concurrent duplicate waits on the row's lock, then sees it done.

    Writes the message's status."""
    if message_id is None:
        return True
    if not transaction.get_connection(using).in_atomic_block:
        raise transaction.TransactionManagementError("claim() must run inside the handler's transaction.")
    try:
        message = OutboxMessage.objects.using(using).select_for_update().filter(pk=message_id).first()
    except (ValidationError, ValueError):  # not a message id at all
        message = None
    if message is None:
        # Rows are deleted only OUTBOX_RETENTION_DAYS after being done: this is a very late duplicate.
        logger.warning("outbox.unknown_message message=%s", message_id)
        return False
    if message.status == OutboxStatus.DONE:
        logger.info("outbox.duplicate message=%s task=%s", message.pk, message.task)
        return False
    message.status, message.done_at = OutboxStatus.DONE, timezone.now()
    message.save(update_fields=["status", "done_at"])
    return True


# --- watching and tidying --------------------------------------------------------------------------

def pending_count(using=None):
    """Messages not yet handed to the broker: the outbox's depth. Rising means the broker is unreachable
    or the relay is not running."""
    return OutboxMessage.objects.using(using).filter(status=OutboxStatus.PENDING).count()


def purge(now=None, using=None):
    """Delete messages handled more than OUTBOX_RETENTION_DAYS ago. Returns how many."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=iam_settings.OUTBOX_RETENTION_DAYS)
    deleted, _ = OutboxMessage.objects.using(using).filter(status=OutboxStatus.DONE, done_at__lt=cutoff).delete()
    return deleted


@checks.register()
def check_outbox_retention(app_configs=None, **kwargs):
    """A handled message must be remembered longer than the broker may hold a copy of it."""
    from django.conf import settings

    visibility = (getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", None) or {}).get("visibility_timeout")
    if visibility and iam_settings.OUTBOX_RETENTION_DAYS * 86400 <= visibility:
        return [checks.Error(
            "IAM['OUTBOX_RETENTION_DAYS'] must exceed the broker's visibility timeout, or a message the broker "
            "gives back after it could be handled twice.", id="platform.E201")]
    return []
