"""Broker and worker faults: no task is lost, none is handled twice.

Each test runs a redis-server of its own as the broker (the cache stays on REDIS_URL) and, where a
worker is needed, a real Celery worker with its beat on it, on the test database — so the tests commit
(transaction=True). They run where PostgreSQL and Redis are configured (the second pass of .ci/run).
"""

import email
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection, connections
from django.utils import timezone

from iam_project import outbox
from iam_project.celery import app as celery_app
from iam_project.outbox import OutboxMessage
from jit import services as jit_services
from jit.models import AccessRequest, Eligibility
from principals import services as principal_services
from roles import engine
from tests.brokers import RedisServer, silent_listener, use_broker
from tests.conftest import api_client_for, make_principal, make_role

pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True), pytest.mark.postgres]
ROOT = Path(__file__).resolve().parents[2]
MAIL_SEPARATOR = b"\n" + b"-" * 79 + b"\n"


def _database_url():
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture(autouse=True)
def _postgres_and_redis():
    if connection.vendor != "postgresql" or not os.environ.get("REDIS_URL"):
        pytest.skip("needs PostgreSQL and Redis (the second pass of .ci/run)")
    outbox._paused_until = 0.0
    yield
    outbox._paused_until = 0.0


@pytest.fixture
def broker(tmp_path):
    """A redis-server of this test's own as the broker; this process publishes to it."""
    server = RedisServer(tmp_path / "broker").start()
    with use_broker(server.url, settings.CELERY_BROKER_TRANSPORT_OPTIONS):
        yield server
    server.stop()


class Worker:
    """``celery worker --beat`` in a session of its own (SIGKILL reaches the worker, its pool and its beat)."""

    def __init__(self, tmp_path, broker_url, name, **env):
        self.log = tmp_path / f"{name}.log"
        self.env = {
            **os.environ, "DATABASE_URL": _database_url(), "DATABASE_CONN_MAX_AGE": "0",
            "CELERY_BROKER_URL": broker_url, "IAM_VAR_DIR": str(tmp_path / "var"),
            "DJANGO_SETTINGS_MODULE": "iam_project.settings", "PYTHONUNBUFFERED": "1",
            "IAM_OUTBOX_RELAY_SECONDS": "1", "IAM_OUTBOX_RETRY_SECONDS": "1", "IAM_JIT_SWEEP_SECONDS": "2",
            **env,
        }
        with self.log.open("w") as output:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "iam_project", "worker", "--beat", "--loglevel=INFO",
                 "--concurrency=1", "--without-gossip", "--without-mingle", "-n", f"{name}@%h",
                 "-s", str(tmp_path / f"{name}-beat-schedule")],
                cwd=ROOT, env=self.env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)

    def wait_ready(self):
        deadline = time.monotonic() + 60
        while not celery_app.control.ping(timeout=1):
            assert self.process.poll() is None, self.text()
            assert time.monotonic() < deadline, "the worker did not start:\n" + self.text()
        return self

    def text(self):
        return self.log.read_text()[-6000:]

    def kill(self):
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def workers(tmp_path, broker):
    started = []

    def start(name="worker", **env):
        worker = Worker(tmp_path, broker.url, name, **env)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


def mails(tmp_path):
    """Every mail written by the workers' file backend (var/mail)."""
    folder = tmp_path / "var" / "mail"
    found = []
    for path in sorted(folder.glob("*")) if folder.exists() else ():
        for chunk in path.read_bytes().split(MAIL_SEPARATOR):
            if chunk.strip():
                found.append(email.message_from_bytes(chunk))
    return found


def wait_for(condition, timeout, message):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, message() if callable(message) else message
        time.sleep(0.2)


def _resets(tmp_path):
    return [mail for mail in mails(tmp_path) if mail["Subject"] == "Your temporary Portcullis password"]


def _subjects(tmp_path):
    return sorted(mail["Subject"] for mail in mails(tmp_path))


def _body(mail):
    return mail.get_payload(decode=True).decode()


def _temporary_password(mail):
    return next(line.strip() for line in _body(mail).splitlines() if line.startswith("    "))


def _is_password_of(password, principal):
    """The worker hashes as production does (Argon2), not with the suite's fast hasher."""
    from django.contrib.auth.hashers import Argon2PasswordHasher

    principal.refresh_from_db()
    return Argon2PasswordHasher().verify(password, principal.password)


# --- (a) the broker down when a reset is asked for -------------------------------------------------

def test_a_reset_asked_while_the_broker_is_down_is_mailed_once_when_it_is_back(broker, workers, tmp_path):
    owner = make_principal(email="owner@example.com", roles=["system:owner"])
    target = make_principal(email="reset@example.com", password="Old-passphrase-123")
    marker = tmp_path / "sending"
    worker = workers(EMAIL_BACKEND="tests.e2e.slowmail.EmailBackend", SLOW_MAIL_MARKER=str(marker),
                     SLOW_MAIL_SECONDS="4").wait_ready()
    # When the broker goes, the worker holds a grant's expiry (an ETA task, unacknowledged) and is in
    # the middle of a mail — the two ways Celery 5.7's worker used to die of a lost Redis.
    role = make_role(["prod/db:write"], key="ops:db-admin")
    jit_services.save_eligibility(None, Eligibility(principal=target, role=role, max_duration=timedelta(hours=1),
                                                    approval_required=False, justification_required=False))
    jit_services.request_access(target, role, timedelta(minutes=30))
    expiry = OutboxMessage.objects.get(task="jit.tasks.expire_grant")
    wait_for(lambda: f"jit.tasks.expire_grant[{expiry.pk}] received" in worker.text(), 20, worker.text)
    wait_for(marker.exists, 20, worker.text)  # the "is active" mail is being sent

    broker.stop()
    started = time.monotonic()
    response = api_client_for(owner).post(f"/resources/iam/principals/{target.pk}/password/reset")
    elapsed = time.monotonic() - started
    assert response.status_code == 202, response.content
    assert elapsed < 3, f"the request waited {elapsed:.1f}s on a broker that is down"
    message = OutboxMessage.objects.get(task="principals.tasks.send_temporary_password")
    assert (message.status, message.attempts, message.deliveries) == ("pending", 1, 0)
    assert message.next_attempt_at > message.created_at and message.last_error.startswith("OperationalError")
    time.sleep(2)  # beat cannot reach the broker either: nothing is sent, nothing is lost
    message.refresh_from_db()
    assert message.status == "pending" and _resets(tmp_path) == []
    assert worker.process.poll() is None, "the worker stopped when the broker went away:\n" + worker.text()

    broker.start()
    wait_for(lambda: _resets(tmp_path), 60, lambda: "no mail after the broker came back:\n" + worker.text())
    time.sleep(3)  # several relay periods later, still one
    [mail] = _resets(tmp_path)
    assert mail["To"] == "reset@example.com"
    assert _is_password_of(_temporary_password(mail), target)
    message.refresh_from_db()
    assert (message.status, message.deliveries) == ("done", 1)
    assert "outbox.relayed count=1" in worker.text()
    # The mail in progress when the broker went was finished, once; the worker lived through it all.
    assert _subjects(tmp_path).count("Your access to ops:db-admin is active") == 1
    assert worker.process.poll() is None and "Unrecoverable error" not in worker.text()


# --- (b) the worker killed during a just-in-time expiry --------------------------------------------

def test_a_worker_killed_during_a_jit_expiry_the_grant_still_ends_and_is_mailed_once(workers, tmp_path, settings):
    # A message published but not handled 12 s after its due time is published again (30 minutes by
    # default): long enough for the sweep to come first here, short enough to watch.
    settings.IAM = {**settings.IAM, "OUTBOX_REDELIVER_SECONDS": 12}
    role = make_role(["prod/db:write"], key="ops:db-admin")
    requester = make_principal(email="dev@example.com")
    jit_services.save_eligibility(None, Eligibility(principal=requester, role=role, max_duration=timedelta(minutes=5),
                                                    approval_required=False, justification_required=False))
    first = workers("first").wait_ready()
    request = jit_services.request_access(requester, role, timedelta(seconds=8))
    expiry = OutboxMessage.objects.get(task="jit.tasks.expire_grant")
    assert expiry.status == "sent" and expiry.eta == request.expires_at
    # The worker holds the ETA task (received, not acknowledged) until the grant's end.
    wait_for(lambda: f"jit.tasks.expire_grant[{expiry.pk}] received" in first.text(), 20, first.text)
    wait_for(lambda: "Your access to ops:db-admin is active" in _subjects(tmp_path), 20, first.text)

    time.sleep(max(0.0, (request.expires_at - timezone.now()).total_seconds() - 1))
    first.kill()  # SIGKILL: the worker, its pool and its beat; Redis keeps the ETA task as unacknowledged
    time.sleep(max(0.0, (request.expires_at - timezone.now()).total_seconds()) + 0.2)
    assert not engine.decide(requester, "prod/db:write").allowed  # the engine ends it on time, workers or not
    assert AccessRequest.objects.get(pk=request.pk).status == "active"  # nobody has expired it yet

    # A worker comes back: its beat sweep ends the grant; the ETA task, never handled, is published again
    # by the outbox and does nothing.
    second = workers("second").wait_ready()
    wait_for(lambda: AccessRequest.objects.get(pk=request.pk).status == "expired", 30, second.text)
    request.refresh_from_db()
    assert request.ended_at - request.expires_at < timedelta(seconds=30)  # within one production sweep period
    assert "jit.sweep expired=1" in second.text()
    assert not engine.decide(requester, "prod/db:write").allowed
    wait_for(lambda: OutboxMessage.objects.get(pk=expiry.pk).status == "done", 30,
             lambda: "the expiry was not published again:\n" + second.text())
    assert f"outbox.redelivered message={expiry.pk}" in second.text()
    wait_for(lambda: "Your access to ops:db-admin has ended" in _subjects(tmp_path), 20, second.text)
    time.sleep(2)
    assert _subjects(tmp_path) == ["Your access to ops:db-admin ends soon", "Your access to ops:db-admin has ended",
                                   "Your access to ops:db-admin is active"]  # each once
    assert f"jit.expired request={request.pk} by=eta" not in first.text() + second.text()


def test_a_mail_task_whose_worker_process_dies_is_run_again_and_mails_one_password(workers, tmp_path):
    target = make_principal(email="killed@example.com", password="Old-passphrase-123")
    marker = tmp_path / "sending"
    worker = workers(EMAIL_BACKEND="tests.e2e.slowmail.EmailBackend", SLOW_MAIL_MARKER=str(marker),
                     SLOW_MAIL_SECONDS="3").wait_ready()
    principal_services.request_password_reset(None, target.pk)
    wait_for(lambda: marker.exists() and marker.read_text().strip(), 30, worker.text)
    pool_process = int(marker.read_text().split()[0])
    os.kill(pool_process, signal.SIGKILL)  # the pool process, in the middle of the mail

    wait_for(lambda: mails(tmp_path), 60, lambda: "no mail after the pool process died:\n" + worker.text())
    time.sleep(2)
    [mail] = mails(tmp_path)
    senders = marker.read_text().split()
    assert len(senders) == 2 and senders[0] != senders[1]  # handed back to the queue and run by a new process
    assert "WorkerLostError" in worker.text()
    assert _is_password_of(_temporary_password(mail), target)
    assert OutboxMessage.objects.get().status == "done"


# --- (c) two relays at once ------------------------------------------------------------------------

def test_two_relays_at_once_publish_each_message_once(broker, settings):
    import json

    settings.IAM = {**settings.IAM, "OUTBOX_BATCH": 10}
    count = 300
    OutboxMessage.objects.bulk_create(
        OutboxMessage(task="jit.tasks.send_jit_mail", args=["expired", f"request-{n}"]) for n in range(count))
    start, sent, errors = threading.Barrier(2), [], []

    def relay():
        try:
            start.wait()
            sent.append(outbox.relay_due())
        except Exception as exc:  # noqa: BLE001 — reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=relay) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors and sum(sent) == count
    assert min(sent) > 0, f"one relay did everything ({sent}): they did not run at once"
    queued = [json.loads(raw)["headers"]["id"] for raw in broker.client().lrange("celery", 0, -1)]
    assert len(queued) == count and set(queued) == {str(pk) for pk in OutboxMessage.objects.values_list("pk", flat=True)}
    assert set(OutboxMessage.objects.values_list("status", "deliveries")) == {("sent", 1)}


# --- a broker that hangs --------------------------------------------------------------------------

def test_a_hung_broker_costs_one_request_a_few_seconds_and_the_next_ones_nothing():
    owner = make_principal(email="owner@example.com", roles=["system:owner"])
    first, second = make_principal(email="first@example.com"), make_principal(email="second@example.com")
    api = api_client_for(owner)
    with silent_listener() as url, use_broker(url, settings.CELERY_BROKER_TRANSPORT_OPTIONS):
        started = time.monotonic()
        assert api.post(f"/resources/iam/principals/{first.pk}/password/reset").status_code == 202
        first_took = time.monotonic() - started
        started = time.monotonic()
        assert api.post(f"/resources/iam/principals/{second.pk}/password/reset").status_code == 202
        second_took = time.monotonic() - started
    assert first_took < 12, f"a hung broker held the request {first_took:.1f}s"
    assert second_took < 1, f"the next request waited {second_took:.1f}s on the same broker"
    assert sorted(OutboxMessage.objects.values_list("status", "attempts")) == [("pending", 0), ("pending", 1)]
