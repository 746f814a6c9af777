"""manage.py bindrole: grant a role to a principal or client (optionally scoped or expiring), or remove it."""

from django.core.management.base import CommandError
from django.utils.dateparse import parse_datetime

from iam_project.commands import IAMCommand, find_principal
from iam_project.identity import find_identity

from ...models import Role, RoleBinding
from ...services import bind_role, unbind


class Command(IAMCommand):
    help = "Bind ROLE to IDENTITY (a principal's email or any iam_id); --remove takes the binding away."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("identity", help="email of a principal, or an iam_id")
        parser.add_argument("role", help="role key, e.g. system:portal:full")
        parser.add_argument("--scope", default="")
        parser.add_argument("--expires-at", default=None, help="ISO 8601 date-time with offset")
        parser.add_argument("--remove", action="store_true")

    def run(self, actor, identity, role, scope="", expires_at=None, remove=False, **options):
        target = find_identity(identity) if identity.startswith("iam-") else find_principal(identity)
        if target is None:
            raise CommandError(f"No identity {identity}.")
        role_obj = Role.objects.filter(key=role).first()
        if role_obj is None:
            raise CommandError(f"No role {role}.")
        if remove:
            bindings = RoleBinding.objects.for_identity(target).filter(role=role_obj, scope=scope)
            if not bindings.exists():
                raise CommandError(f"{target} does not hold {role}" + (f" on {scope}" if scope else "") + ".")
            for binding in bindings:
                unbind(actor, binding)
            self.stdout.write(self.style.SUCCESS(f"Removed {role} from {target}."))
            return
        expires = None
        if expires_at:
            expires = parse_datetime(expires_at)
            if expires is None or expires.tzinfo is None:
                raise CommandError("--expires-at must be an ISO 8601 date-time with a UTC offset.")
        binding = bind_role(actor, target, role_obj, scope=scope, expires_at=expires)
        self.stdout.write(self.style.SUCCESS(f"Bound {role} to {target} (binding {binding.pk})."))
