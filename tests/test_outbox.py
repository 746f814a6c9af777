"""The transactional outbox: a task is written with the transaction that asks for it, relayed after commit,
relayed again by beat when the broker failed, and handled once however often it is delivered."""

import inspect
import logging
import re
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.core import mail
from django.core.checks import run_checks
from django.db import transaction
from django.utils import timezone

from iam_project import outbox
from iam_project.outbox import OutboxMessage
from iam_project.tasks import purge_outbox, relay_outbox
from jit import services as jit_services
from jit.models import AccessRequest, Eligibility
from jit.tasks import expire_grant, send_jit_mail
from principals import services
from principals.tasks import send_email_changed_notice, send_temporary_password
from tests.brokers import FolderBroker, free_port, use_broker
from tests.conftest import make_principal, make_role

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _sending_after_commit():
    """A broker failure pauses this process' after-commit sends: no test inherits another's pause."""
    outbox._paused_until = 0.0
    yield
    outbox._paused_until = 0.0


@pytest.fixture
def folder_broker(tmp_path):
    broker = FolderBroker(tmp_path / "broker")
    with use_broker("filesystem://", broker.options):
        yield broker


def _temporary_password(message):
    return next(line.strip() for line in message.body.splitlines() if line.startswith("    "))


def _reset(principal, capture):
    with capture(execute=True):
        services.request_password_reset(None, principal.pk)


# --- written with the transaction ------------------------------------------------------------------

def test_a_task_enqueued_in_a_rolled_back_transaction_leaves_nothing(django_capture_on_commit_callbacks):
    principal = make_principal(email="rolled@example.com")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            services.request_password_reset(None, principal.pk)
            assert OutboxMessage.objects.count() == 1
            raise RuntimeError("the rest of the write failed")
    assert not OutboxMessage.objects.exists()
    assert callbacks == [] and mail.outbox == []


def test_a_committed_transaction_relays_its_messages_with_one_hook(django_capture_on_commit_callbacks):
    first, second = make_principal(email="first@example.com"), make_principal(email="second@example.com")
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        services.request_password_reset(None, first.pk)
        services.request_password_reset(None, second.pk)
    assert len(callbacks) == 1  # one hook for the transaction, not one per message
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {"pending"} and mail.outbox == []

    callbacks[0]()
    assert sorted(m.to[0] for m in mail.outbox) == ["first@example.com", "second@example.com"]
    assert [(m.status, m.deliveries) for m in OutboxMessage.objects.all()] == [("done", 1), ("done", 1)]


def test_a_rolled_back_savepoint_drops_its_messages_and_keeps_the_transactions_hook(
        django_capture_on_commit_callbacks):
    kept, dropped = make_principal(email="kept@example.com"), make_principal(email="dropped@example.com")
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        with pytest.raises(RuntimeError), transaction.atomic():
            services.request_password_reset(None, dropped.pk)  # its hook goes with the savepoint
            raise RuntimeError
        services.request_password_reset(None, kept.pk)
    assert [m.to for m in mail.outbox] == [["kept@example.com"]]
    assert OutboxMessage.objects.get().args[0] == str(kept.pk)


def test_no_secret_goes_into_the_outbox(django_capture_on_commit_callbacks, owner):
    principal = make_principal(email="secret@example.com")
    _reset(principal, django_capture_on_commit_callbacks)
    password = _temporary_password(mail.outbox[0])
    principal.refresh_from_db()
    assert principal.check_password(password)
    stored = repr(list(OutboxMessage.objects.values()))
    assert password not in stored and principal.password not in stored
    assert OutboxMessage.objects.get().args == [str(principal.pk), principal.security_stamp]


def test_enqueue_refuses_what_it_could_not_relay():
    with pytest.raises(LookupError, match="principals.tasks.no_such_task"):
        outbox.enqueue("principals.tasks.no_such_task", args=["x"])
    with pytest.raises(TypeError):
        outbox.enqueue("jit.tasks.send_jit_mail", args=["expired", object()])
    with pytest.raises(ValueError, match="aware"):
        outbox.enqueue("jit.tasks.expire_grant", args=["x"], eta=timezone.now().replace(tzinfo=None))
    with pytest.raises(ValueError, match="message_id"):
        outbox.enqueue("jit.tasks.expire_grant", args=["x"], kwargs={"message_id": "forged"})
    assert not OutboxMessage.objects.exists()


def test_every_task_the_services_enqueue_recognises_a_second_delivery():
    """Each task published through the outbox takes the message id, claims it before acting, and is
    handed back to the queue if its worker dies."""
    from iam_project.celery import app

    names = set()
    for app_dir in ("iam_project", "principals", "clients", "roles", "audit", "jit", "ibmcloud"):
        for path in (ROOT / app_dir).rglob("*.py"):
            names |= set(re.findall(r'outbox\.enqueue\(\s*"([\w.]+)"', path.read_text()))
    assert names >= {"principals.tasks.send_temporary_password", "principals.tasks.send_email_changed_notice",
                     "jit.tasks.send_jit_mail", "jit.tasks.expire_grant"}
    app.loader.import_default_modules()
    for name in names:
        task = app.tasks[name]
        assert "message_id" in inspect.signature(task.run).parameters, name
        assert "outbox.claim(message_id)" in inspect.getsource(task.run), name
        assert task.acks_late and task.reject_on_worker_lost, name


# --- relayed, and relayed again --------------------------------------------------------------------

def test_a_broker_that_is_down_leaves_the_message_pending_with_its_attempts_and_next_try(
        django_capture_on_commit_callbacks, caplog):
    principal, later = make_principal(email="down@example.com"), make_principal(email="later@example.com")
    caplog.set_level(logging.INFO, logger="iam_project.outbox")
    with use_broker(f"redis://:broker-password@127.0.0.1:{free_port()}/0"):  # nothing listens there
        before = timezone.now()
        _reset(principal, django_capture_on_commit_callbacks)
        message = OutboxMessage.objects.get()
        assert (message.status, message.attempts, message.deliveries) == ("pending", 1, 0)
        assert before + timedelta(seconds=5) <= message.next_attempt_at <= timezone.now() + timedelta(seconds=5)
        assert message.last_error.startswith("OperationalError") and "broker-password" not in message.last_error
        assert "outbox.send_failed" in caplog.text and "broker-password" not in caplog.text

        # The next transaction of this process does not wait on the same broker: beat will send it.
        _reset(later, django_capture_on_commit_callbacks)
        assert OutboxMessage.objects.get(args__0=str(later.pk)).attempts == 0
        assert "outbox.deferred count=1" in caplog.text

        with time_machine.travel(message.next_attempt_at + timedelta(seconds=1)):
            assert relay_outbox() == 0  # beat, the broker still down: the next try is put off further
        message.refresh_from_db()
        assert message.attempts == 2 and message.next_attempt_at >= before + timedelta(seconds=5 + 10)
    assert mail.outbox == []
    assert outbox.pending_count() == 2


def test_the_beat_relay_sends_what_waited_once_its_time_has_come(django_capture_on_commit_callbacks):
    principal = make_principal(email="waited@example.com")
    with use_broker(f"redis://127.0.0.1:{free_port()}/0"):
        _reset(principal, django_capture_on_commit_callbacks)
    message = OutboxMessage.objects.get()
    assert relay_outbox() == 0 and mail.outbox == []  # not before its next try
    with time_machine.travel(message.next_attempt_at + timedelta(seconds=1)):
        assert relay_outbox() == 1
    assert [m.to for m in mail.outbox] == [["waited@example.com"]]
    message.refresh_from_db()
    assert (message.status, message.attempts, message.deliveries) == ("done", 2, 1)
    assert outbox.pending_count() == 0
    principal.refresh_from_db()
    assert principal.check_password(_temporary_password(mail.outbox[0]))


def test_a_message_published_but_never_handled_is_published_again_and_handled_once(
        folder_broker, django_capture_on_commit_callbacks, caplog):
    principal = make_principal(email="lost@example.com")
    _reset(principal, django_capture_on_commit_callbacks)
    [published] = folder_broker.messages()
    message = OutboxMessage.objects.get()
    assert published[:2] == ("principals.tasks.send_temporary_password", str(message.pk))
    assert published[3] == {"message_id": str(message.pk)}
    assert message.status == "sent" and message.next_attempt_at >= timezone.now() + timedelta(minutes=29)

    assert relay_outbox() == 0  # a worker may still be on it
    with time_machine.travel(message.next_attempt_at + timedelta(seconds=1)):  # it was lost with its worker
        assert relay_outbox() == 1
    first, second = folder_broker.messages()
    assert first == second
    message.refresh_from_db()
    assert message.deliveries == 2 and "outbox.redelivered" in caplog.text

    for _, _, args, kwargs in (first, second):  # both copies reach a worker in the end
        send_temporary_password.apply(args=args, kwargs=kwargs)
    assert len(mail.outbox) == 1
    principal.refresh_from_db()
    assert principal.check_password(_temporary_password(mail.outbox[0]))
    message.refresh_from_db()
    assert message.status == "done"
    with time_machine.travel(timezone.now() + timedelta(days=2)):
        assert relay_outbox() == 0  # done: never published again


def test_an_operator_publishes_again_what_the_broker_lost(folder_broker, django_capture_on_commit_callbacks):
    from io import StringIO

    from django.core.management import call_command

    principal = make_principal(email="lost-in-redis@example.com")
    _reset(principal, django_capture_on_commit_callbacks)  # published; then the broker restarts empty
    for path in folder_broker.queue.glob("*.msg"):
        path.unlink()
    out = StringIO()
    call_command("outbox_relay", stdout=out)
    assert "published=0" in out.getvalue() and folder_broker.messages() == []  # not due for 30 minutes
    call_command("outbox_relay", "--unhandled", stdout=out)
    assert "published=1" in out.getvalue()
    [(name, task_id, _, _)] = folder_broker.messages()
    assert (name, task_id) == ("principals.tasks.send_temporary_password", str(OutboxMessage.objects.get().pk))


def test_a_message_for_an_unknown_task_stays_pending_and_does_not_stop_the_others(folder_broker):
    OutboxMessage.objects.create(task="gone.tasks.renamed", args=[])
    principal = make_principal(email="other@example.com")
    OutboxMessage.objects.create(task="principals.tasks.send_temporary_password", args=[str(principal.pk)])
    assert relay_outbox() == 1
    broken = OutboxMessage.objects.get(task="gone.tasks.renamed")
    assert broken.status == "pending" and broken.attempts == 1 and "LookupError" in broken.last_error
    assert [m[0] for m in folder_broker.messages()] == ["principals.tasks.send_temporary_password"]


# --- handled once ----------------------------------------------------------------------------------

def test_an_email_change_notice_delivered_twice_mails_once(folder_broker, django_capture_on_commit_callbacks):
    principal = make_principal(email="old@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        services.update_principal(None, principal.pk, email="new@example.com")
    [(name, _, args, kwargs)] = folder_broker.messages()
    assert name == "principals.tasks.send_email_changed_notice"
    send_email_changed_notice.apply(args=args, kwargs=kwargs)
    send_email_changed_notice.apply(args=args, kwargs=kwargs)
    assert [m.to for m in mail.outbox] == [["old@example.com"]]


@pytest.fixture
def grant(db):
    role = make_role(["prod/db:write"], key="ops:db-writer")
    requester = make_principal(email="dev@example.com")
    jit_services.save_eligibility(None, Eligibility(principal=requester, role=role, max_duration=timedelta(hours=1),
                                                    approval_required=False, justification_required=False))
    return requester, role


def test_an_expiry_delivered_twice_expires_once_and_mails_once(grant, folder_broker,
                                                               django_capture_on_commit_callbacks):
    requester, role = grant
    with django_capture_on_commit_callbacks(execute=True):
        request = jit_services.request_access(requester, role, timedelta(minutes=10))
    published = {name: (args, kwargs) for name, _, args, kwargs in folder_broker.messages()}
    assert set(published) == {"jit.tasks.expire_grant", "jit.tasks.send_jit_mail"}
    args, kwargs = published["jit.tasks.expire_grant"]
    assert OutboxMessage.objects.get(task="jit.tasks.expire_grant").eta == request.expires_at

    with time_machine.travel(request.expires_at + timedelta(seconds=1)):
        for _ in range(2):
            with django_capture_on_commit_callbacks(execute=True):
                expire_grant.apply(args=args, kwargs=kwargs)
    request.refresh_from_db()
    assert request.status == "expired"
    expired_mail = [m for m in folder_broker.messages() if m[0] == "jit.tasks.send_jit_mail" and m[2][0] == "expired"]
    assert len(expired_mail) == 1


def test_an_expiry_the_sweep_did_first_does_nothing_when_delivered(grant, folder_broker,
                                                                   django_capture_on_commit_callbacks):
    requester, role = grant
    with django_capture_on_commit_callbacks(execute=True):
        request = jit_services.request_access(requester, role, timedelta(minutes=10))
    [(_, _, args, kwargs)] = [m for m in folder_broker.messages() if m[0] == "jit.tasks.expire_grant"]
    with time_machine.travel(request.expires_at + timedelta(seconds=1)):
        with django_capture_on_commit_callbacks(execute=True):
            assert jit_services.sweep() == (1, 0)
        with django_capture_on_commit_callbacks(execute=True):
            expire_grant.apply(args=args, kwargs=kwargs)  # the ETA task, late
    expired_mail = [m for m in folder_broker.messages() if m[0] == "jit.tasks.send_jit_mail" and m[2][0] == "expired"]
    assert len(expired_mail) == 1
    message = OutboxMessage.objects.get(task="jit.tasks.expire_grant")
    assert message.status == "done"  # handled (a no-op): the relay will not publish it again


def test_a_jit_mail_delivered_twice_mails_once(grant, folder_broker, django_capture_on_commit_callbacks):
    requester, role = grant
    with django_capture_on_commit_callbacks(execute=True):
        jit_services.request_access(requester, role, timedelta(minutes=10))
    [(args, kwargs)] = [(a, k) for name, _, a, k in folder_broker.messages() if name == "jit.tasks.send_jit_mail"]
    assert send_jit_mail.apply(args=args, kwargs=kwargs).get() == 1
    assert send_jit_mail.apply(args=args, kwargs=kwargs).get() == 0
    assert len(mail.outbox) == 1


def test_a_failed_send_rolls_the_claim_back_so_the_retry_mails(settings, folder_broker,
                                                                django_capture_on_commit_callbacks):
    principal = make_principal(email="retry@example.com")
    _reset(principal, django_capture_on_commit_callbacks)
    [(_, _, args, kwargs)] = folder_broker.messages()
    settings.EMAIL_BACKEND = "tests.test_outbox.FailingBackend"
    with pytest.raises(OSError):
        send_temporary_password(*args, **kwargs)
    assert OutboxMessage.objects.get().status == "sent" and mail.outbox == []
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    send_temporary_password(*args, **kwargs)
    assert len(mail.outbox) == 1 and OutboxMessage.objects.get().status == "done"


class FailingBackend:
    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise ConnectionRefusedError("the mail server is down")


def test_a_handler_called_directly_proceeds_and_a_stranger_id_is_ignored():
    principal = make_principal(email="direct@example.com")
    send_temporary_password.delay(str(principal.pk))  # no message id: a direct call, not a delivery
    assert len(mail.outbox) == 1
    assert outbox.claim("not-a-message-id") is False
    assert outbox.claim("5b0b7e0e-0000-4000-8000-000000000000") is False  # purged long ago, or forged


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_claim_needs_the_handlers_transaction():
    message = OutboxMessage.objects.create(task="jit.tasks.expire_grant", args=["x"])
    with pytest.raises(transaction.TransactionManagementError):
        outbox.claim(message.pk)  # its mark would be committed before the handler's work
    with transaction.atomic():
        assert outbox.claim(message.pk) is True
        assert outbox.claim(message.pk) is False


# --- tidying and settings --------------------------------------------------------------------------

def test_purge_forgets_only_what_was_handled_long_ago():
    now = timezone.now()
    old = OutboxMessage.objects.create(task="jit.tasks.expire_grant", status="done", done_at=now - timedelta(days=11))
    recent = OutboxMessage.objects.create(task="jit.tasks.expire_grant", status="done",
                                          done_at=now - timedelta(days=9))
    waiting = OutboxMessage.objects.create(task="jit.tasks.expire_grant", created_at=now - timedelta(days=30))
    assert purge_outbox() == 1
    assert set(OutboxMessage.objects.values_list("pk", flat=True)) == {recent.pk, waiting.pk}
    assert not OutboxMessage.objects.filter(pk=old.pk).exists()


def test_the_outbox_must_remember_longer_than_the_broker_may_give_a_message_back(settings):
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 8 * 24 * 3600}
    assert not [e for e in run_checks() if e.id == "platform.E201"]
    settings.IAM = {**settings.IAM, "OUTBOX_RETENTION_DAYS": 7}
    assert [e.id for e in run_checks() if e.id == "platform.E201"] == ["platform.E201"]
