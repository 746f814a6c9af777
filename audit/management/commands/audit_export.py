"""Export the audit trail (or a filtered part of it) as NDJSON or CSV, oldest first."""

import sys

from django.core.management.base import BaseCommand, CommandError
from django.http import QueryDict
from tqdm import tqdm

from audit.export import FORMATS, stream
from audit.filtersets import AuditEventFilterSet
from audit.models import AuditEvent

FILTERS = ("actor", "actorType", "targetType", "targetId", "action", "since", "until", "requestId")


class Command(BaseCommand):
    help = "Export audit events as NDJSON or CSV to a file or stdout (filters as in the API)."

    def add_arguments(self, parser):
        parser.add_argument("--format", choices=list(FORMATS), default="ndjson")
        parser.add_argument("--output", "-o", default="-", help="File to write (default: stdout).")
        parser.add_argument("--no-progress", action="store_true")
        for name in FILTERS:
            parser.add_argument(f"--{name}", dest=f"filter_{name}", metavar="VALUE",
                                help=f"Only events matching {name} (as the API's query parameter).")

    def handle(self, *args, format, output, no_progress=False, **options):
        query = QueryDict(mutable=True)
        for name in FILTERS:
            if options.get(f"filter_{name}"):
                query[name] = options[f"filter_{name}"]
        filterset = AuditEventFilterSet(query, queryset=AuditEvent.objects.all())
        if not filterset.is_valid():
            raise CommandError("; ".join(f"--{k}: {' '.join(v)}" for k, v in filterset.errors.items()))
        queryset = filterset.qs
        to_stdout = output == "-"
        total = queryset.count()
        show = not no_progress and not to_stdout and sys.stderr.isatty()
        out = self.stdout._out if to_stdout else open(output, "w", encoding="utf-8", newline="")
        try:
            with tqdm(total=total, unit="event", disable=not show, file=sys.stderr) as bar:
                for chunk in stream(queryset, format, progress=bar.update if show else None):
                    out.write(chunk)
        finally:
            if not to_stdout:
                out.close()
        if not to_stdout:
            self.stderr.write(f"{total} events written to {output}.")
