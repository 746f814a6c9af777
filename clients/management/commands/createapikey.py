"""Create an API key for a principal (by email) or a client (by client_id or name); prints it once."""

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError
from oauth2_provider.models import get_application_model

from clients import services
from iam_project.commands import IAMCommand


class Command(IAMCommand):
    help = ("Create an API key for a principal or a client and print the key once. Exchange it at "
            "POST /identity/token (grant_type=urn:ibm:params:oauth:grant-type:apikey).")

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("owner", help="A principal's email, or a client's client_id or exact name.")
        parser.add_argument("--name", default="", help="The key's name (default: 'key for <owner>').")
        parser.add_argument("--description", default="")

    def run(self, actor, owner, name="", description="", **options):
        identity = get_user_model().objects.filter(email=owner.strip().lower()).first()
        if identity is None:
            Client = get_application_model()
            identity = Client.objects.filter(client_id=owner).first() or Client.objects.filter(name=owner).first()
        if identity is None:
            raise CommandError(f"No principal or client {owner!r}.")
        key, value = services.create_api_key(actor, identity, name or f"key for {owner}", description)
        self.stdout.write(f"id:      ApiKey-{key.pk}")
        self.stdout.write(f"iam_id:  {key.iam_id}")
        self.stdout.write(f"apikey:  {value}")
        self.stdout.write("The key is shown this once; store it now.")
