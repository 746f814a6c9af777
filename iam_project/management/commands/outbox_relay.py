"""manage.py outbox_relay: publish the outbox's messages now, instead of waiting for beat."""

from django.core.management.base import BaseCommand

from iam_project import outbox


class Command(BaseCommand):
    help = (
        "Publish the outbox's due messages now (what beat's relay-outbox does every few seconds). With "
        "--unhandled, every message not yet handled, due or not: after the broker lost what it held (a Redis "
        "restarted without persistence), or a worker killed outright. Handlers drop duplicates, so this is safe."
    )

    def add_arguments(self, parser):
        parser.add_argument("--unhandled", action="store_true",
                            help="also messages published but not handled yet, whatever their next try")

    def handle(self, *args, unhandled=False, **options):
        before = outbox.pending_count()
        sent = outbox.relay_due(everything=unhandled)
        self.stdout.write(f"published={sent} pending_before={before} pending_now={outbox.pending_count()}")
