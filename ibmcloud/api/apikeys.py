"""/v1/apikeys: API keys of principals and service IDs, as IBM's SDK manages them."""

from drf_spectacular.utils import OpenApiParameter
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from clients import services as client_services
from clients.models import ApiKey
from iam_project.errors import InvalidInput
from iam_project.identity import find_identity

from .. import services
from .base import IF_MATCH, IBMView, ensure_account, history, ibm_operation, parse_id
from .pagination import KeysetPage
from .serializers import (ApiKeyListQuerySerializer, ApiKeyListSerializer, ApiKeySerializer, CreateApiKeySerializer,
                          HistoryQuerySerializer, UpdateApiKeySerializer)

TAG = "API Keys"
IAM_APIKEY = OpenApiParameter("IAM-ApiKey", str, OpenApiParameter.HEADER, description="The API key's value.")


def ordering(sort, descending):
    """The list's order, the key's id breaking ties (the keyset needs a unique last field)."""
    return [f"-{sort}", "-id"] if descending else [sort, "id"]


class ApiKeyListView(IBMView):
    """An identity's API keys (one's own need no permission; others' or the account's need iam/apikeys:read),
    paged by keyset; creating one for another identity needs iam/apikeys:write and holding what it holds."""

    @ibm_operation("listApiKeys", TAG, query=ApiKeyListQuerySerializer, response=ApiKeyListSerializer)
    def get(self, request):
        params = self.query(ApiKeyListQuerySerializer)
        order = ordering(params.get("sort") or "created_at", params.get("order") == "desc")
        page = KeysetPage(request, "apikeys", order, size=params.get("pagesize"), token=params.get("pagetoken"))
        if not ensure_account(params.get("account_id"), for_list=True):
            return self.respond(ApiKeyListSerializer, {"offset": 0, "limit": 0, "apikeys": []})
        keys = ApiKey.objects.all()
        iam_id = params.get("iam_id")
        if params.get("scope") == "account":
            self.need("iam/apikeys:read")
        elif iam_id and iam_id != request.user.iam_id:
            self.need("iam/apikeys:read")
            keys = keys.filter(iam_id=iam_id)
        else:
            keys = keys.filter(iam_id=iam_id or request.user.iam_id)
        if params.get("type") == "user":
            keys = keys.filter(principal__isnull=False)
        elif params.get("type") == "serviceid":
            keys = keys.filter(client__isnull=False)
        return self.respond(ApiKeyListSerializer, page.body("apikeys", page.rows(keys)))

    @ibm_operation("createApiKey", TAG, request=CreateApiKeySerializer, response=ApiKeySerializer, status=201)
    def post(self, request):
        data = self.body(CreateApiKeySerializer)
        ensure_account(data.get("account_id"))
        owner = find_identity(data["iam_id"])
        if owner is None:
            raise InvalidInput({"iam_id": ["No principal or service ID has this iam_id."]})
        key, value = services.create_api_key(request.user, owner, data["name"], data.get("description"),
                                             data.get("expires_at"))
        return self.respond(ApiKeySerializer, key, status=201, apikey_values={key.pk: value})


class ApiKeyDetailsView(IBMView):
    """The key whose value is presented (IBM's way to learn a key's id from its value)."""

    @ibm_operation("getApiKeysDetails", TAG, query=HistoryQuerySerializer, headers=[IAM_APIKEY],
                   response=ApiKeySerializer)
    def get(self, request):
        params = self.query(HistoryQuerySerializer)
        value = request.headers.get("IAM-ApiKey", "")
        key = ApiKey.objects.filter(digest=ApiKey.digest_of(value)).first() if value else None
        if key is None:
            raise NotFound("No API key matches the IAM-ApiKey header.")
        return self.respond(ApiKeySerializer, key,
                            history=history(request, params["include_history"], "apiKey", key.pk))


class ApiKeyLookup:
    def key(self, id, permission=None):
        """The key named in the path; someone else's needs ``iam/apikeys:<permission>``."""
        key = ApiKey.objects.filter(pk=parse_id("ApiKey", id, "API key")).first()
        if key is None:
            raise NotFound(f"No such API key: {id}.")
        if permission and key.iam_id != self.request.user.iam_id:
            self.need(f"iam/apikeys:{permission}")
        return key


class ApiKeyView(ApiKeyLookup, IBMView):
    """One API key: one's own freely, another identity's under iam/apikeys:read|write|delete."""

    @ibm_operation("getApiKey", TAG, query=HistoryQuerySerializer, response=ApiKeySerializer)
    def get(self, request, id):
        params = self.query(HistoryQuerySerializer)
        key = self.key(id, "read")
        return self.respond(ApiKeySerializer, key,
                            history=history(request, params["include_history"], "apiKey", key.pk))

    @ibm_operation("updateApiKey", TAG, request=UpdateApiKeySerializer, headers=[IF_MATCH],
                   response=ApiKeySerializer)
    def put(self, request, id):
        key = self.key(id, "write")
        data = self.body(UpdateApiKeySerializer)
        key = client_services.update_api_key(request.user, key.pk, self.if_match(), name=data.get("name"),
                                             description=data.get("description"), expires_at=data.get("expires_at"))
        return self.respond(ApiKeySerializer, key)

    @ibm_operation("deleteApiKey", TAG, status=204)
    def delete(self, request, id):
        key = self.key(id, "delete")
        client_services.delete_api_key(request.user, key.pk)
        return Response(status=204)


class ApiKeyFlagView(ApiKeyLookup, IBMView):
    """POST sets the flag (lock / disable), DELETE clears it (unlock / enable)."""

    flag = ""

    def set_flag(self, id, value):
        key = self.key(id, "write")
        client_services.set_api_key_flag(self.request.user, key.pk, self.flag, value)
        return Response(status=204)


class ApiKeyLockView(ApiKeyFlagView):
    flag = "locked"

    @ibm_operation("lockApiKey", TAG, status=204)
    def post(self, request, id):
        return self.set_flag(id, True)

    @ibm_operation("unlockApiKey", TAG, status=204)
    def delete(self, request, id):
        return self.set_flag(id, False)


class ApiKeyDisableView(ApiKeyFlagView):
    flag = "disabled"

    @ibm_operation("disableApiKey", TAG, status=204)
    def post(self, request, id):
        return self.set_flag(id, True)

    @ibm_operation("enableApiKey", TAG, status=204)
    def delete(self, request, id):
        return self.set_flag(id, False)
