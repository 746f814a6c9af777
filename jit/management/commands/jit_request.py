"""Request a role just in time, as the principal named by --actor."""

from django.core.management.base import CommandError

from iam_project.commands import IAMCommand
from jit import services
from jit.durations import format_duration, parse_iso_duration
from roles.models import Role


class Command(IAMCommand):
    help = "Request a role for a while (as --actor). Activates at once when the eligibility needs no approval."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("role")
        parser.add_argument("--duration", required=True, help="ISO 8601, e.g. PT30M or PT2H.")
        parser.add_argument("--justification", default="")
        parser.add_argument("--scope", default="")

    def run(self, actor, role, duration, justification="", scope="", **options):
        if actor is None:
            raise CommandError("--actor names the requester.")
        length = parse_iso_duration(duration)
        if not length:
            raise CommandError("--duration must be an ISO 8601 duration such as PT30M.")
        role_obj = Role.objects.filter(key=role).first()
        if role_obj is None:
            raise CommandError(f"No role {role}.")
        request = services.request_access(actor, role_obj, length, justification=justification, scope=scope)
        self.stdout.write(f"request {request.pk}: {request.status}, {role} for {format_duration(request.duration)}"
                          + (f", until {request.expires_at.isoformat()}" if request.expires_at else ""))
