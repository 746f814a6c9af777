"""manage.py createprincipal: create a principal with roles; a generated password is printed once."""

import secrets

from iam_project.commands import IAMCommand

from ...services import create_principal


class Command(IAMCommand):
    help = "Create a principal. Without --password one is generated and printed once (to be changed at first login)."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("email")
        parser.add_argument("--password", default=None)
        parser.add_argument("--role", action="append", default=[], dest="roles", metavar="KEY")
        parser.add_argument("--name", default=None)

    def run(self, actor, email, password=None, roles=(), name=None, **options):
        generated = not password
        if generated:
            password = secrets.token_urlsafe(18)
        principal = create_principal(actor, email, properties={"name": name} if name else {}, roles=roles,
                                     password=password, must_change_password=generated)
        self.stdout.write(self.style.SUCCESS(f"Created {principal.email} ({principal.iam_id})."))
        if generated:
            self.stdout.write(f"Temporary password, shown only this once (must be changed at first login):\n"
                              f"    {password}")
