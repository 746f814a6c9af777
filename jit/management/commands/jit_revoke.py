"""End an active just-in-time grant now."""

from iam_project.commands import IAMCommand, parse_uuid_argument
from jit import services


class Command(IAMCommand):
    help = "Revoke an active just-in-time grant before its end (as --actor, or the system)."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("request_id")
        parser.add_argument("--comment", default="")

    def run(self, actor, request_id, comment="", **options):
        request = services.revoke(actor, parse_uuid_argument(request_id), comment=comment)
        self.stdout.write(f"request {request.pk}: {request.status}")
