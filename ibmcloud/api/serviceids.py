"""/v1/serviceids: service IDs — the platform's clients, seen as IBM's SDK manages them."""

from oauth2_provider.models import get_application_model
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from clients import services as client_services

from .. import services
from .base import IF_MATCH, IBMView, ensure_account, history, ibm_operation, parse_id, permissions
from .pagination import KeysetPage
from .serializers import (CreateServiceIdSerializer, HistoryQuerySerializer, ServiceIdListQuerySerializer,
                          ServiceIdListSerializer, ServiceIdSerializer, UpdateServiceIdSerializer)

TAG = "Service IDs"
# IBM's sort names -> the client's fields
SORT_FIELDS = {"name": "name", "created_at": "created", "modified_at": "updated"}


def find_client(id):
    client = get_application_model().objects.filter(pk=parse_id("ServiceId", id, "service ID")).first()
    if client is None:
        raise NotFound(f"No such service ID: {id}.")
    return client


class ServiceIdListView(IBMView):
    """Service IDs are the platform's clients (system clients are never listed), paged by keyset."""

    required_permissions = permissions(get="iam/clients:read", post="iam/clients:write")

    @ibm_operation("listServiceIds", TAG, query=ServiceIdListQuerySerializer, response=ServiceIdListSerializer)
    def get(self, request):
        params = self.query(ServiceIdListQuerySerializer)
        sort = SORT_FIELDS[params.get("sort") or "created_at"]
        ordering = [f"-{sort}", "-id"] if params.get("order") == "desc" else [sort, "id"]
        page = KeysetPage(request, "serviceids", ordering, size=params.get("pagesize"),
                          token=params.get("pagetoken"))
        if not ensure_account(params.get("account_id"), for_list=True):
            return self.respond(ServiceIdListSerializer, {"offset": 0, "limit": 0, "serviceids": []})
        clients = get_application_model().objects.filter(is_system=False)
        if params.get("name"):
            clients = clients.filter(name=params["name"])
        return self.respond(ServiceIdListSerializer, page.body("serviceids", page.rows(clients)))

    @ibm_operation("createServiceId", TAG, request=CreateServiceIdSerializer, response=ServiceIdSerializer,
                   status=201)
    def post(self, request):
        data = self.body(CreateServiceIdSerializer)
        ensure_account(data["account_id"])
        client, created = services.create_service_id(request.user, data["name"], data.get("description"),
                                                     apikey=data.get("apikey"))
        return self.respond(ServiceIdSerializer, client, status=201, apikey=created)


class ServiceIdView(IBMView):
    """One service ID; deleting it deletes its keys, bindings and tokens."""

    required_permissions = permissions(get="iam/clients:read", put="iam/clients:write", delete="iam/clients:delete")

    @ibm_operation("getServiceId", TAG, query=HistoryQuerySerializer, response=ServiceIdSerializer)
    def get(self, request, id):
        params = self.query(HistoryQuerySerializer)
        client = find_client(id)
        return self.respond(ServiceIdSerializer, client,
                            history=history(request, params["include_history"], "client", client.pk))

    @ibm_operation("updateServiceId", TAG, request=UpdateServiceIdSerializer, headers=[IF_MATCH],
                   response=ServiceIdSerializer)
    def put(self, request, id):
        client = find_client(id)
        data = self.body(UpdateServiceIdSerializer)
        client = services.update_service_id(request.user, client.pk, self.if_match(), name=data.get("name"),
                                            description=data.get("description"))
        return self.respond(ServiceIdSerializer, client)

    @ibm_operation("deleteServiceId", TAG, status=204)
    def delete(self, request, id):
        client_services.delete_client(request.user, find_client(id).pk)
        return Response(status=204)


class ServiceIdLockView(IBMView):
    """A locked service ID cannot be changed or deleted, on either API face."""

    required_permissions = permissions(post="iam/clients:write", delete="iam/clients:write")

    def set_locked(self, id, locked):
        client_services.set_client_locked(self.request.user, parse_id("ServiceId", id, "service ID"), locked)
        return Response(status=204)

    @ibm_operation("lockServiceId", TAG, status=204)
    def post(self, request, id):
        return self.set_locked(id, True)

    @ibm_operation("unlockServiceId", TAG, status=204)
    def delete(self, request, id):
        return self.set_locked(id, False)
