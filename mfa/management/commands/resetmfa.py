"""manage.py resetmfa: remove every second factor of a principal (lost phone or key); audited as mfa.reset."""

from iam_project.commands import IAMCommand, find_principal

from ...services import reset_factors


class Command(IAMCommand):
    help = ("Remove every second factor (authenticator apps, passkeys, recovery codes) of a principal and end its "
            "sessions and tokens; where a second factor is required it enrols again at its next sign-in.")

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("email")

    def run(self, actor, email, **options):
        principal = find_principal(email)
        _, removed = reset_factors(actor, principal.pk)
        summary = ", ".join(f"{count} {kind}" for kind, count in removed.items())
        self.stdout.write(self.style.SUCCESS(f"{principal.email}: second factors removed ({summary})."))
