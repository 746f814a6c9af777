"""Approve (or --deny) a pending just-in-time request, as --actor."""

from iam_project.commands import IAMCommand, parse_uuid_argument
from jit import services


class Command(IAMCommand):
    help = "Approve a pending access request (or deny it with --deny), as the approver named by --actor."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("request_id")
        parser.add_argument("--comment", default="")
        parser.add_argument("--deny", action="store_true")

    def run(self, actor, request_id, comment="", deny=False, **options):
        operation = services.deny if deny else services.approve
        request = operation(actor, parse_uuid_argument(request_id), comment=comment)
        self.stdout.write(f"request {request.pk}: {request.status}"
                          + (f", until {request.expires_at.isoformat()}" if request.expires_at else ""))
