"""Benchmark: what the outbox costs a transaction (write + publish after commit) and how fast beat relays a backlog.

Run by hand (not in CI):
    .venv/bin/python bench/outbox_relay.py --broker redis://127.0.0.1:6379/15 [--rounds 500] [--backlog 5000]
Uses the configured database (DATABASE_URL) in a throw-away test database, and publishes to --broker, whose
`celery` list it deletes at the end (give it a Redis database no worker reads).
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "iam_project.settings")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402
from django.test.utils import setup_test_environment, teardown_test_environment  # noqa: E402

TASK = "jit.tasks.send_jit_mail"


def per_transaction(outbox, rounds, publish):
    """Seconds per committed transaction that enqueues one message (published after commit, or left
    to beat when ``publish`` is false)."""
    started = time.perf_counter()
    for index in range(rounds):
        outbox._paused_until = 0.0 if publish else time.monotonic() + 3600
        with transaction.atomic():
            outbox.enqueue(TASK, args=["expired", f"bench-{index}"])
    outbox._paused_until = 0.0
    return (time.perf_counter() - started) / rounds


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--broker", required=True)
    parser.add_argument("--rounds", type=int, default=500)
    parser.add_argument("--backlog", type=int, default=5000)
    args = parser.parse_args()

    import kombu.pools

    from iam_project import outbox
    from iam_project.celery import app
    from iam_project.outbox import OutboxMessage

    app.conf.broker_url, app.conf.task_always_eager = args.broker, False
    kombu.pools.reset()
    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0)
    try:
        per_transaction(outbox, 20, True)  # warm up: connections, task registry
        deferred = per_transaction(outbox, args.rounds, False)
        published = per_transaction(outbox, args.rounds, True)

        OutboxMessage.objects.all().delete()
        OutboxMessage.objects.bulk_create(
            OutboxMessage(task=TASK, args=["expired", f"backlog-{n}"]) for n in range(args.backlog))
        started = time.perf_counter()
        sent = outbox.relay_due()
        backlog = time.perf_counter() - started
        assert sent == args.backlog, sent

        print(f"database={connection.vendor} broker={app.conf.broker_url.split('://')[0]}")
        print(f"transaction + enqueue, left to beat:      {deferred * 1e3:8.2f} ms")
        print(f"transaction + enqueue + publish (commit): {published * 1e3:8.2f} ms")
        print(f"publish after commit adds:                {(published - deferred) * 1e3:8.2f} ms")
        print(f"beat relay of a {args.backlog}-message backlog: {backlog:8.2f} s "
              f"({args.backlog / backlog:,.0f} messages/s)")
    finally:
        with app.connection_for_write() as conn:
            conn.default_channel.client.delete("celery")
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()


if __name__ == "__main__":
    main()
