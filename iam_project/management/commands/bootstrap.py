"""manage.py bootstrap: the system roles and the first owner, idempotently."""

import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from iam_project.conf import iam_settings
from iam_project.context import request_context
from iam_project.hooks import emit_bootstrapped
from roles.models import RoleBinding
from roles.services import ensure_system_roles


class Command(BaseCommand):
    help = (
        "Make sure the system roles exist and that there is an owner. With no owner yet, creates one "
        "from --email/--password (or IAM_BOOTSTRAP_EMAIL / IAM_BOOTSTRAP_PASSWORD), generating the "
        "password and printing it once when none is given. Safe to run on every start."
    )

    def add_arguments(self, parser):
        parser.add_argument("--email", default=None)
        parser.add_argument("--password", default=None)

    def handle(self, *args, email=None, password=None, **options):
        email = (email or iam_settings.BOOTSTRAP_EMAIL or "").strip().lower()
        password = password or iam_settings.BOOTSTRAP_PASSWORD or None
        with request_context(actor="system", request_id="bootstrap"), transaction.atomic():
            ensure_system_roles()
            for line in emit_bootstrapped():  # what the other apps made of the first start (the account)
                self.stdout.write(f"Bootstrap: {line}")
            owners = RoleBinding.objects.owners().filter(principal__isnull=False)
            if owners.exists() and not email:
                self.stdout.write("Bootstrap: the system roles and an owner already exist; nothing to do.")
                return
            Principal = get_user_model()
            if not email:
                email = "owner@localhost"
            principal = Principal.objects.filter(email=email).first()
            generated = False
            if principal is None:
                from principals.services import create_principal

                if not password:
                    password, generated = secrets.token_urlsafe(18), True
                principal = create_principal(None, email, properties={"name": "Owner"}, password=password)
            elif owners.filter(principal=principal).exists():
                self.stdout.write(f"Bootstrap: {email} is already an owner; nothing to do.")
                return
            elif principal.suspended:
                raise CommandError(f"{email} is suspended; unsuspend it to make it the owner.")
            from roles.services import bind_system_owner

            bind_system_owner(principal)
        self.stdout.write(self.style.SUCCESS(f"Bootstrap: {email} is a system:owner ({principal.iam_id})."))
        if generated:
            self.stdout.write(
                "Its password, shown only this once — sign in at /admin/ and keep it somewhere safe:\n"
                f"    {password}"
            )
