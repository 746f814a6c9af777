"""Django's ``flush``, able to empty the append-only audit table on SQLite as it does every other table."""

from django.core.management.commands.flush import Command as FlushCommand
from django.db import connections

from audit.db import triggers_lifted


class Command(FlushCommand):
    def handle(self, **options):
        with triggers_lifted(connections[options["database"]]):
            return super().handle(**options)
