"""manage.py createsuperuser: a first-class owner, made through the principals service (audited)."""

import getpass
import os
import secrets

from django.core.management.base import CommandError

from iam_project.commands import IAMCommand


class Command(IAMCommand):
    help = ("Create a principal bound to system:owner, through the same service as the API (validated, "
            "audited). Without a password (none typed, none in DJANGO_SUPERUSER_PASSWORD) one is generated "
            "and printed once; it must be changed at first sign-in.")

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--email", default=os.environ.get("DJANGO_SUPERUSER_EMAIL"))
        parser.add_argument("--noinput", "--no-input", action="store_false", dest="interactive")
        parser.add_argument("--username", dest="email_alias", default=None, help="Same as --email.")
        parser.add_argument("--database", default="default", help="Accepted for compatibility; ignored.")

    def run(self, actor, email=None, email_alias=None, interactive=True, **options):
        from principals.services import create_principal

        email = email or email_alias
        password = os.environ.get("DJANGO_SUPERUSER_PASSWORD") or None
        if interactive and not email:
            email = input("Email: ").strip()
        if not email:
            raise CommandError("An email is required (--email or DJANGO_SUPERUSER_EMAIL).")
        if interactive and password is None:
            first = getpass.getpass("Password (empty: generate one): ")
            if first and first != getpass.getpass("Password (again): "):
                raise CommandError("The passwords do not match.")
            password = first or None
        generated = password is None
        if generated:
            password = secrets.token_urlsafe(18)
        principal = create_principal(actor, email, roles=["system:owner"], password=password,
                                     must_change_password=generated)
        self.stdout.write(self.style.SUCCESS(f"Created the owner {principal.email} ({principal.iam_id})."))
        if generated:
            self.stdout.write(f"Temporary password, shown only this once (must be changed at first sign-in):\n"
                              f"    {password}")
