"""/v1/serviceid_groups: named groups of the account's service IDs."""

from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from .. import services
from ..models import ServiceIdGroup
from .base import IF_MATCH, IF_MATCH_OPTIONAL, IBMView, ensure_account, ibm_operation, parse_id, permissions
from .serializers import (CreateServiceIdGroupSerializer, ServiceIdGroupListSerializer, ServiceIdGroupSerializer,
                          UpdateServiceIdGroupSerializer, AccountQuerySerializer)

TAG = "Service ID Groups"


def group_pk(id):
    pk = parse_id("ServiceIdGroup", id, "service ID group")
    if not ServiceIdGroup.objects.filter(pk=pk).exists():
        raise NotFound(f"No such service ID group: {id}.")
    return pk


class ServiceIdGroupListView(IBMView):
    required_permissions = permissions(get="iam/clients:read", post="iam/clients:write")

    @ibm_operation("listServiceIdGroup", TAG, query=AccountQuerySerializer, response=ServiceIdGroupListSerializer)
    def get(self, request):
        params = self.query(AccountQuerySerializer)
        groups = ServiceIdGroup.objects.all()[:1000] if ensure_account(params.get("account_id"), for_list=True) else []
        return self.respond(ServiceIdGroupListSerializer, {"serviceid_groups": list(groups)})

    @ibm_operation("createServiceIdGroup", TAG, request=CreateServiceIdGroupSerializer,
                   response=ServiceIdGroupSerializer, status=201)
    def post(self, request):
        data = self.body(CreateServiceIdGroupSerializer)
        ensure_account(data["account_id"])
        group = services.create_service_id_group(request.user, data["name"], data.get("description") or "")
        return self.respond(ServiceIdGroupSerializer, group, status=201)


class ServiceIdGroupView(IBMView):
    required_permissions = permissions(get="iam/clients:read", put="iam/clients:write",
                                       delete="iam/clients:delete")

    @ibm_operation("getServiceIdGroup", TAG, response=ServiceIdGroupSerializer)
    def get(self, request, id):
        return self.respond(ServiceIdGroupSerializer, ServiceIdGroup.objects.get(pk=group_pk(id)))

    @ibm_operation("updateServiceIdGroup", TAG, request=UpdateServiceIdGroupSerializer, headers=[IF_MATCH],
                   response=ServiceIdGroupSerializer)
    def put(self, request, id):
        pk = group_pk(id)
        version = self.if_match()
        data = self.body(UpdateServiceIdGroupSerializer)
        group = services.update_service_id_group(request.user, pk, version, data["name"], data.get("description"))
        return self.respond(ServiceIdGroupSerializer, group)

    @ibm_operation("deleteServiceIdGroup", TAG, headers=[IF_MATCH_OPTIONAL], status=204)
    def delete(self, request, id):
        services.delete_service_id_group(request.user, group_pk(id), self.if_match(required=False))
        return Response(status=204)
