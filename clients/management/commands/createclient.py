"""Create a client; a confidential one gets its first secret, printed once."""

from iam_project.commands import IAMCommand
from clients import services
from clients.choices import GrantTypeChoices


class Command(IAMCommand):
    help = "Create a client (a program identity). A confidential client's first secret is printed once."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("name")
        parser.add_argument("--grant", action="append", dest="grants", choices=GrantTypeChoices.values,
                            help="A grant type the client may use (repeatable). Default: client_credentials.")
        parser.add_argument("--redirect-uri", action="append", dest="redirect_uris", default=[])
        parser.add_argument("--scope", action="append", dest="scopes", default=[],
                            help="A scope the client may ask for (repeatable), e.g. iam/principals:read.")
        parser.add_argument("--role", action="append", dest="roles", default=[])
        parser.add_argument("--public", action="store_true", help="A public client (no secret; PKCE only).")
        parser.add_argument("--first-party", action="store_true", help="Skip the consent page.")

    def run(self, actor, name, grants=None, redirect_uris=(), scopes=(), roles=(), public=False,
            first_party=False, **options):
        props = {"name": name, "grantTypes": grants or ["client_credentials"], "redirectUris": list(redirect_uris),
                 "scopes": list(scopes), "clientType": "public" if public else "confidential",
                 "firstParty": first_party}
        client = services.create_client(actor, props, roles=roles)
        self.stdout.write(f"client_id: {client.client_id}")
        self.stdout.write(f"iam_id:    {client.iam_id}")
        if not public:
            secret, value = services.create_secret(actor, client.pk)
            self.stdout.write(f"secret:    {value}")
            self.stdout.write("The secret is shown this once; store it now.")
