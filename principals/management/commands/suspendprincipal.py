"""manage.py suspendprincipal: suspend a principal (or --unsuspend it); takes effect at once."""

from iam_project.commands import IAMCommand, find_principal

from ...services import suspend_principal, unsuspend_principal


class Command(IAMCommand):
    help = "Suspend a principal: it can no longer log in and its tokens stop working. --unsuspend restores it."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("email")
        parser.add_argument("--unsuspend", action="store_true")

    def run(self, actor, email, unsuspend=False, **options):
        principal = find_principal(email)
        if unsuspend:
            unsuspend_principal(actor, principal.pk)
            self.stdout.write(self.style.SUCCESS(f"{principal.email} is active."))
        else:
            suspend_principal(actor, principal.pk)
            self.stdout.write(self.style.SUCCESS(f"{principal.email} is suspended."))
