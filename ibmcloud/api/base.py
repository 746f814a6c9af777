"""Plumbing of the IBM-compatible face: the base view, ids with IBM prefixes, ETags and If-Match, the
OpenAPI entry of each operation, and the audit history IBM calls ``history``."""

import uuid

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.models import AuditEvent
from iam_project.api import expected_version
from iam_project.parsers import JSONParser
from iam_project.permissions import require

from ..services import account, account_id, address_allowed, ensure_account_id  # noqa: F401  (the token view reads the account here)
from .errors import ibm_exception_handler

IF_MATCH = OpenApiParameter("If-Match", str, OpenApiParameter.HEADER, required=True,
                            description="The entity_tag read; '*' matches any version.")
IF_MATCH_OPTIONAL = OpenApiParameter("If-Match", str, OpenApiParameter.HEADER, required=False,
                                     description="The entity_tag read ('*' matches any version): when given, a "
                                                 "changed object is not deleted (409).")


class IBMView(APIView):
    """Authenticated by the platform's bearer tokens. ``required_permissions`` names the permission of each
    method (the engine decides, a refusal is an audited access.denied); ``None`` for operations whose rule
    depends on the object (one's own API keys need none), which the view asks with ``need``."""

    renderer_classes = [JSONRenderer]
    parser_classes = [JSONParser]
    versioning_class = None
    pagination_class = None
    required_permissions = {"*": None}

    def get_exception_handler(self):
        return ibm_exception_handler

    def initial(self, request, *args, **kwargs):
        ensure_address_allowed(request)
        super().initial(request, *args, **kwargs)

    def need(self, permission):
        require(self.request, permission)

    def query(self, serializer_class):
        """The query parameters, validated (a 400 naming the one at fault)."""
        serializer = serializer_class(data=self.request.query_params)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def body(self, serializer_class):
        """The JSON body, validated (a 400 naming the field at fault)."""
        serializer = serializer_class(data=self.request.data, context={"request": self.request})
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def respond(self, serializer_class, obj, status=200, **context):
        """``obj`` written by its serializer, with its ETag (the ``entity_tag`` IBM's SDK sends back)."""
        data = serializer_class(obj, context={"request": self.request, **context}).data
        response = Response(data, status=status, content_type="application/json")
        if getattr(obj, "version", None) is not None:
            response["ETag"] = str(obj.version)
        return response

    def if_match(self, required=True):
        """The version named by If-Match: required on updates (IBM's SDK sends it); optional on deletes,
        where a stale one still refuses (409). '*' or absent matches any version."""
        if required and self.request.headers.get("If-Match") is None:
            raise ValidationError({"If-Match": ["This header is required (the entity_tag you read)."]})
        return expected_version(self.request)


def ensure_address_allowed(request):
    """The account's ``allowed_ip_addresses``: a request to the IBM face from any other address is refused
    (403), as IBM refuses it, before anything else is looked at."""
    ip = getattr(request, "client_ip", None) or request.META.get("REMOTE_ADDR")
    if not address_allowed(ip):
        raise PermissionDenied("Access from this IP address is not allowed by the account's settings "
                               "(allowed_ip_addresses).")


def permissions(**by_method):
    """``required_permissions`` of a view whose every operation has one fixed permission (OPTIONS, which
    only describes the view, needs none)."""
    return {"options": None, **by_method}


SUMMARIES = {
    "listApiKeys": "List the API keys of an identity (one's own by default) or of the account.",
    "createApiKey": "Create an API key for a principal or a service ID; its value is shown only here.",
    "getApiKeysDetails": "The API key whose value is in the IAM-ApiKey header.",
    "getApiKey": "Get an API key (never its value).",
    "updateApiKey": "Change an API key's name, description or expiry.",
    "deleteApiKey": "Delete an API key (not a locked one).",
    "lockApiKey": "Lock an API key: no change, no delete.",
    "unlockApiKey": "Unlock an API key.",
    "disableApiKey": "Disable an API key: it gets no token.",
    "enableApiKey": "Enable an API key.",
    "listServiceIds": "List the service IDs (clients) of the account.",
    "createServiceId": "Create a service ID, optionally with a first API key.",
    "getServiceId": "Get a service ID.",
    "updateServiceId": "Change a service ID's name or description.",
    "deleteServiceId": "Delete a service ID with its keys, bindings and tokens (not a locked one).",
    "lockServiceId": "Lock a service ID: no change, no delete.",
    "unlockServiceId": "Unlock a service ID.",
    "listProfiles": "List the trusted profiles of the account.",
    "createProfile": "Create a trusted profile.",
    "getProfile": "Get a trusted profile.",
    "updateProfile": "Change a trusted profile.",
    "deleteProfile": "Delete a trusted profile and its claim rules.",
    "listClaimRules": "List the claim rules of a trusted profile.",
    "createClaimRule": "Create a claim rule of a trusted profile.",
    "getClaimRule": "Get a claim rule.",
    "updateClaimRule": "Replace a claim rule.",
    "deleteClaimRule": "Delete a claim rule.",
    "listPolicies": "List the access policies of the account (active ones by default).",
    "createPolicy": "Create an access policy: a binding of one role to one identity over a scope.",
    "getPolicy": "Get an access policy.",
    "replacePolicy": "Replace an access policy (the replacer holds both the old and the new grant).",
    "updatePolicyState": "Deactivate (deleted) or restore (active) an access policy.",
    "deletePolicy": "Delete an access policy and its binding.",
    "listRoles": "List the roles: the account's custom roles and the built-in system roles.",
    "createRole": "Create a custom role: a platform role whose entries are its actions.",
    "getRole": "Get a custom role.",
    "replaceRole": "Replace a custom role's display name, description and actions.",
    "deleteRole": "Delete a custom role nobody holds.",
    "listV2Policies": "List the v2 access policies of the account (active ones by default).",
    "createV2Policy": "Create a v2 access policy: a binding, its time-based rule the binding's conditions.",
    "getV2Policy": "Get a v2 access policy.",
    "replaceV2Policy": "Replace a v2 access policy (the replacer holds both the old and the new grant).",
    "deleteV2Policy": "Delete a v2 access policy and its binding.",
    "getEffectiveAccountSettings": "The account's identity settings and those in force.",
    "getSettings": "Get the account's access-management settings.",
    "updateSettings": "Change the account's access-management settings.",
    "getAccountLimits": "The account's identity limits and their usage.",
    "bulkListAccountEntityConsumption": "The account's identity limits and their usage (IBM's bulk form).",
    "listServiceIdGroup": "List the service ID groups of the account.",
    "createServiceIdGroup": "Create a service ID group.",
    "getServiceIdGroup": "Get a service ID group.",
    "updateServiceIdGroup": "Rename or redescribe a service ID group.",
    "deleteServiceIdGroup": "Delete a service ID group.",
    "listLinks": "List the compute resources linked to a trusted profile.",
    "createLink": "Link a compute resource to a trusted profile (stored: grants nothing here).",
    "deleteLinkByParameters": "Delete the links of a trusted profile matching the parameters.",
    "getLink": "Get a link of a trusted profile.",
    "deleteLink": "Delete a link of a trusted profile.",
    "getProfileIdentities": "The identities that may take on a trusted profile.",
    "setProfileIdentities": "Replace the identities that may take on a trusted profile (stored).",
    "setProfileIdentity": "Add an identity that may take on a trusted profile (stored).",
    "getProfileIdentity": "Get an identity that may take on a trusted profile.",
    "deleteProfileIdentity": "Remove an identity that may take on a trusted profile.",
    "createReport": "Ask for an inactivity report over the audit trail (built by a task).",
    "getReport": "Get a report: 204 while it is being built.",
    "getPreferencesOnScopeAccount": "Get one preference of an identity.",
    "updatePreferenceOnScopeAccount": "Set one preference of an identity.",
    "deletePreferencesOnScopeAccount": "Delete one preference of an identity.",
    "getAllPreferencesOnScopeAccount": "All the preferences of an identity.",
    "listProfileTemplates": "IBM's trusted-profile templates: none in an installation of one account.",
    "listAccountSettingsTemplates": "IBM's account-settings templates: none in an installation of one account.",
    "getAccountSettings": "Get the account's identity settings.",
    "updateAccountSettings": "Change the account's identity settings.",
}


def ibm_operation(operation_id, tag, request=None, response=None, status=200, query=None, headers=()):
    """The OpenAPI entry of an IBM-face operation, named as in IBM's API description: its body, query
    parameters and headers, and the serializer of its answer (none for 204)."""
    parameters = ([query] if query is not None else []) + list(headers)
    return extend_schema(operation_id=operation_id, tags=[f"IBM Cloud IAM: {tag}"], summary=SUMMARIES[operation_id],
                         request=request, parameters=parameters, responses={status: response})


def ensure_account(named, for_list=False, field="account_id"):
    """True when ``named`` is this installation's account (or none is named); a malformed account id is 400
    (naming ``field``), a list naming another account is empty, anything else naming one is 403 — never
    someone else's data."""
    if not named or named == account_id():
        return True
    ensure_account_id(named, field)
    if for_list:
        return False
    raise PermissionDenied(f"Account {named} is not this account.")


def crn(kind, ident):
    return f"crn:v1:portcullis:public:iam-identity::a/{account_id()}::{kind}:{ident}"


def public_id(prefix, pk):
    return f"{prefix}-{pk}"


def parse_id(prefix, value, what):
    text = str(value)
    if text.startswith(prefix + "-"):
        text = text[len(prefix) + 1:]
    try:
        return uuid.UUID(text)
    except ValueError:
        raise NotFound(f"No such {what}: {value}.") from None


def stamp(value):
    return value.isoformat().replace("+00:00", "Z") if value else None


def history(request, wanted, target_type, pk):
    """IBM's ``history`` (when ``include_history=true``), read from the audit trail under its own
    permission: who changed what and when, oldest first (at most 100). Empty otherwise."""
    if not wanted:
        return []
    require(request, "audit/events:read")
    events = AuditEvent.objects.filter(target_type=target_type, target_id=str(pk)).order_by("seq")[:100]
    return [{"timestamp": stamp(e.at), "iam_id": e.actor, "iam_id_account": account_id(), "action": e.action,
             "params": sorted(e.changes), "message": f"{e.action} by {e.actor}"} for e in events]
