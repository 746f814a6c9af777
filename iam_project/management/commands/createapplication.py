"""manage.py createapplication: refused — clients are made with createclient, through the services."""

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Not available: use `manage.py createclient` (secrets stored as digests, shown once, audited)."

    def add_arguments(self, parser):
        parser.add_argument("args", nargs="*")

    def handle(self, *args, **options):
        raise CommandError(
            "createapplication is not available here: it would make a client outside the platform's rules "
            "(and print an empty secret). Use `manage.py createclient NAME --grant ... --scope ... --role ...`."
        )
