"""/v2/roles: the platform's roles as IBM lists them (custom roles of the account, IBM's platform and service
roles, the platform's own system roles), and custom roles made, read, replaced and deleted — the same Role
rows as /resources/iam/roles."""

from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from roles.models import Role

from .. import services
from .base import IF_MATCH, IF_MATCH_OPTIONAL, IBMView, account_id, ensure_account, ibm_operation, parse_id, permissions
from .serializers import (CreateRoleSerializer, CustomRoleSerializer, ReplaceRoleSerializer, RoleListQuerySerializer,
                          RoleListSerializer, role_crn)

TAG = "Roles"
# IBM's service groups: every role here is IAM's (the platform is an IAM service).
SERVICE_GROUPS = ("IAM",)


def actions(role):
    face = services.role_face(role)
    if face is not None and face.actions:
        return list(face.actions)
    return [f"{e['resource']}:{e['permission']}" for e in role.acl_entries]


def serves(role, service):
    """Whether a role acts on the service (its IBM service name, or an entry on ``service/…`` or on
    everything)."""
    face = services.role_face(role)
    if face is not None and face.service_name:
        return face.service_name == service
    return any(e["resource"].split("/")[0] in (service, "*") for e in role.acl_entries)


def custom_role(request, role):
    face = services.role_face(role)
    return {"id": str(role.pk), "name": face.name if face else role.key,
            "display_name": face.display_name if face else role.key, "description": role.description,
            "actions": actions(role), "crn": role_crn(role), "account_id": account_id(),
            "service_name": face.service_name if face else role.namespace, "created_at": role.created_at,
            "created_by_id": face.created_by if face else "system", "last_modified_at": role.updated_at,
            "last_modified_by_id": face.last_modified_by if face else "system",
            "href": request.build_absolute_uri(f"/v2/roles/{role.pk}"), "version": role.version}


def one_custom_role(role_id):
    role = Role.objects.filter(pk=parse_id("Role", role_id, "role"), is_system=False).first()
    if role is None:
        raise NotFound(f"No such custom role: {role_id}.")
    return role


class Versioned(dict):
    """A dict answer that carries its ETag (``respond`` reads ``version``)."""

    @property
    def version(self):
        return self["version"]


class RoleListView(IBMView):
    """The platform's roles, as IBM lists roles; custom roles made here."""

    required_permissions = permissions(get="iam/roles:read", post="iam/roles:write")

    @ibm_operation("listRoles", TAG, query=RoleListQuerySerializer, response=RoleListSerializer)
    def get(self, request):
        params = self.query(RoleListQuerySerializer)
        service = params.get("service_name")
        group = params.get("service_group_id")
        roles = list(Role.objects.select_related("ibm"))
        if group and group not in SERVICE_GROUPS:
            roles = []
        roles = [r for r in roles if not service or serves(r, service)]
        same_account = ensure_account(params.get("account_id"), for_list=True)
        custom = [custom_role(request, r) for r in roles if not r.is_system] if same_account else []

        def system(role):
            return {"display_name": services.role_face(role).display_name if services.role_face(role) else role.key,
                    "description": role.description, "actions": actions(role), "crn": role_crn(role)}

        kinds = {r.pk: (services.role_face(r).kind if services.role_face(r) else "platform") for r in roles}
        return self.respond(RoleListSerializer, {
            "custom_roles": custom,
            "service_roles": [system(r) for r in roles if r.is_system and kinds[r.pk] == "service"],
            "system_roles": [system(r) for r in roles if r.is_system and kinds[r.pk] != "service"]})

    @ibm_operation("createRole", TAG, request=CreateRoleSerializer, response=CustomRoleSerializer, status=201)
    def post(self, request):
        data = self.body(CreateRoleSerializer)
        ensure_account(data["account_id"])
        role = services.create_custom_role(request.user, data["name"], data["display_name"], data["actions"],
                                           data["service_name"], data.get("description") or "")
        role.refresh_from_db()
        return self.respond(CustomRoleSerializer, Versioned(custom_role(request, role)), status=201)


class RoleView(IBMView):
    """One custom role (system roles are read on the list and never changed)."""

    required_permissions = permissions(get="iam/roles:read", put="iam/roles:write", delete="iam/roles:delete")

    @ibm_operation("getRole", TAG, response=CustomRoleSerializer)
    def get(self, request, role_id):
        return self.respond(CustomRoleSerializer, Versioned(custom_role(request, one_custom_role(role_id))))

    @ibm_operation("replaceRole", TAG, request=ReplaceRoleSerializer, headers=[IF_MATCH], response=CustomRoleSerializer)
    def put(self, request, role_id):
        pk = one_custom_role(role_id).pk
        version = self.if_match()
        data = self.body(ReplaceRoleSerializer)
        role = services.replace_custom_role(request.user, pk, version, data["display_name"], data["actions"],
                                            data.get("description"))
        role.refresh_from_db()
        return self.respond(CustomRoleSerializer, Versioned(custom_role(request, role)))

    @ibm_operation("deleteRole", TAG, headers=[IF_MATCH_OPTIONAL], status=204)
    def delete(self, request, role_id):
        services.delete_custom_role(request.user, one_custom_role(role_id).pk, self.if_match(required=False))
        return Response(status=204)
