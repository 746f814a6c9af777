"""Give a client a new secret (printed once); its other secrets expire now or after a grace period."""

from datetime import timedelta

from django.core.management.base import CommandError
from django.utils import timezone
from oauth2_provider.models import get_application_model

from clients import services
from iam_project.commands import IAMCommand


class Command(IAMCommand):
    help = ("Make a new secret for a client and print it once. The client's other live secrets expire "
            "after --grace (default: at once), so deployments can switch without downtime.")

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("client", help="The client's id (client_id) or its exact name.")
        parser.add_argument("--grace", default="0", metavar="MINUTES",
                            help="Minutes the old secrets keep working (default 0).")

    def run(self, actor, client, grace="0", **options):
        Client = get_application_model()
        target = Client.objects.filter(client_id=client).first() or Client.objects.filter(name=client).first()
        if target is None:
            raise CommandError(f"No client {client!r}.")
        try:
            minutes = int(grace)
            if minutes < 0:
                raise ValueError
        except ValueError:
            raise CommandError("--grace must be a whole number of minutes, 0 or more.") from None
        secret, value = services.rotate_secret(actor, target.pk, timezone.now() + timedelta(minutes=minutes))
        self.stdout.write(f"secret: {value}")
        self.stdout.write(f"The previous secrets stop working {'now' if not minutes else f'in {minutes} minutes'}.")
