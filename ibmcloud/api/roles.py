"""/v2/roles: the platform's roles as IBM lists them (custom roles of the account, built-in system roles)."""

from roles.models import Role

from .base import IBMView, account_id, ensure_account, ibm_operation, permissions
from .serializers import RoleListQuerySerializer, RoleListSerializer, role_crn


def actions(role):
    return [f"{e['resource']}:{e['permission']}" for e in role.acl_entries]


def serves(role, service):
    """Whether a role acts on the service (an entry on ``service/…`` or on everything)."""
    return any(e["resource"].split("/")[0] in (service, "*") for e in role.acl_entries)


class RoleListView(IBMView):
    """The platform's roles, as IBM lists roles."""

    required_permissions = permissions(get="iam/roles:read")

    @ibm_operation("listRoles", "Roles", query=RoleListQuerySerializer, response=RoleListSerializer)
    def get(self, request):
        params = self.query(RoleListQuerySerializer)
        service = params.get("service_name")
        roles = [r for r in Role.objects.all() if not service or serves(r, service)]
        same_account = ensure_account(params.get("account_id"), for_list=True)
        custom = [{
            "id": str(r.pk), "name": r.key, "display_name": r.key, "description": r.description,
            "actions": actions(r), "crn": role_crn(r), "account_id": account_id(), "service_name": service or "",
            "created_at": r.created_at, "last_modified_at": r.updated_at,
            "href": request.build_absolute_uri(f"/v2/roles/{r.pk}"),
        } for r in roles if not r.is_system] if same_account else []
        system = [{"display_name": r.key, "description": r.description, "actions": actions(r), "crn": role_crn(r)}
                  for r in roles if r.is_system]
        return self.respond(RoleListSerializer, {"custom_roles": custom, "service_roles": [],
                                                 "system_roles": system})
