"""Run the just-in-time sweep once: expire what is due, send the reminders."""

from iam_project.commands import IAMCommand
from jit import services


class Command(IAMCommand):
    help = "Expire every just-in-time grant whose time has passed and send due reminders (what beat runs every 30 s)."

    def run(self, actor, **options):
        expired, reminded = services.sweep()
        self.stdout.write(f"{expired} grant(s) expired, {reminded} reminder(s) sent.")
