"""Base of the operator commands: --actor, the request context, and domain errors as CommandError."""

import uuid

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from .context import SYSTEM_ACTOR, request_context
from .errors import IAMError


class IAMCommand(BaseCommand):
    """Subclasses implement ``run(actor, **options)``; ``actor`` is None for the system actor."""

    def add_arguments(self, parser):
        parser.add_argument("--actor", metavar="EMAIL", default=None,
                            help="Act as this principal (its permissions bound what the command may do). "
                                 "Default: the system actor.")

    def handle(self, *args, actor=None, **options):
        principal = None
        if actor:
            principal = get_user_model().objects.filter(email=actor.strip().lower()).first()
            if principal is None or principal.suspended:
                raise CommandError(f"--actor {actor}: no such active principal.")
        with request_context(actor=SYSTEM_ACTOR, identity=principal,
                             request_id=f"command-{self.__module__.rsplit('.', 1)[-1]}-{uuid.uuid4().hex[:12]}"):
            try:
                return self.run(principal, *args, **options)
            except IAMError as exc:
                fields = "; ".join(f"{k}: {' '.join(v)}" for k, v in (exc.errors or {}).items())
                raise CommandError(" ".join(filter(None, [exc.detail, fields]))) from None

    def run(self, actor, *args, **options):
        raise NotImplementedError


def find_principal(email):
    principal = get_user_model().objects.filter(email=(email or "").strip().lower()).first()
    if principal is None:
        raise CommandError(f"No principal with email {email}.")
    return principal


def parse_uuid_argument(value):
    import uuid as _uuid

    try:
        return _uuid.UUID(str(value))
    except ValueError:
        raise CommandError(f"{value!r} is not an id (a UUID).") from None
