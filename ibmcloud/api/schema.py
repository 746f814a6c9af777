"""The OpenAPI description of the IBM face's inputs (bodies, query parameters, If-Match), by operation id,
as IBM's API documents them — so that clients and the schema fuzzer reach past "any object"."""

from drf_spectacular.utils import OpenApiParameter

STRING = {"type": "string"}
DATE_TIME = {"type": "string", "format": "date-time"}


def _obj(properties, required=()):
    schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    return schema


CONDITION = _obj({"claim": STRING, "operator": {"type": "string", "enum": [
    "EQUALS", "NOT_EQUALS", "EQUALS_IGNORE_CASE", "NOT_EQUALS_IGNORE_CASE", "CONTAINS", "IN"]}, "value": STRING},
    ("claim", "operator", "value"))
ATTRIBUTE = _obj({"name": STRING, "value": STRING, "operator": STRING}, ("name", "value"))
POLICY = _obj({
    "type": {"type": "string", "enum": ["access"]},
    "description": STRING,
    "subjects": {"type": "array", "items": _obj({"attributes": {"type": "array", "items": ATTRIBUTE}})},
    "roles": {"type": "array", "items": _obj({"role_id": STRING}, ("role_id",))},
    "resources": {"type": "array", "items": _obj({"attributes": {"type": "array", "items": ATTRIBUTE}})},
}, ("subjects", "roles", "resources"))
CLAIM_RULE = _obj({"type": {"type": "string", "enum": ["Profile-SAML", "Profile-CR"]}, "name": STRING,
                   "realm_name": STRING, "cr_type": STRING, "expiration": {"type": "integer"},
                   "conditions": {"type": "array", "items": CONDITION}}, ("type", "conditions"))
SETTING = STRING

REQUESTS = {
    "createApiKey": _obj({"name": STRING, "iam_id": STRING, "description": STRING, "account_id": STRING,
                          "expires_at": DATE_TIME}, ("name", "iam_id")),
    "updateApiKey": _obj({"name": STRING, "description": STRING, "expires_at": DATE_TIME}),
    "createServiceId": _obj({"account_id": STRING, "name": STRING, "description": STRING,
                             "apikey": _obj({"name": STRING, "description": STRING})}, ("account_id", "name")),
    "updateServiceId": _obj({"name": STRING, "description": STRING}),
    "createProfile": _obj({"name": STRING, "account_id": STRING, "description": STRING,
                           "email": {"type": "string", "format": "email"}}, ("name", "account_id")),
    "updateProfile": _obj({"name": STRING, "description": STRING, "email": {"type": "string", "format": "email"}}),
    "createClaimRule": CLAIM_RULE,
    "updateClaimRule": CLAIM_RULE,
    "createPolicy": POLICY,
    "replacePolicy": POLICY,
    "updatePolicyState": _obj({"state": {"type": "string", "enum": ["active", "deleted"]}}, ("state",)),
    "updateAccountSettings": _obj({name: SETTING for name in (
        "restrict_create_service_id", "restrict_create_platform_apikey", "mfa", "session_expiration_in_seconds",
        "session_invalidation_in_seconds", "max_sessions_per_identity", "allowed_ip_addresses")}),
}


def _query(name, kind=str, enum=None, required=False):
    return OpenApiParameter(name, kind, OpenApiParameter.QUERY, required=required, enum=enum)


IF_MATCH = OpenApiParameter("If-Match", str, OpenApiParameter.HEADER, required=True,
                            description="The entity_tag read; '*' matches any version.")
PAGING = [_query("pagesize", int), _query("pagetoken")]
HISTORY = [_query("include_history", bool)]
SORTING = [_query("sort", enum=["name", "created_at", "modified_at"]), _query("order", enum=["asc", "desc"])]

PARAMETERS = {
    "listApiKeys": [_query("account_id"), _query("iam_id"), _query("scope", enum=["entity", "account"]),
                    _query("type", enum=["user", "serviceid"]), *PAGING, *SORTING, *HISTORY],
    "getApiKeysDetails": [OpenApiParameter("IAM-ApiKey", str, OpenApiParameter.HEADER), *HISTORY],
    "getApiKey": HISTORY,
    "updateApiKey": [IF_MATCH],
    "listServiceIds": [_query("account_id"), _query("name"), *PAGING, *SORTING],
    "getServiceId": HISTORY,
    "updateServiceId": [IF_MATCH],
    "listProfiles": [_query("account_id", required=True), _query("name"), *PAGING],
    "updateProfile": [IF_MATCH],
    "updateClaimRule": [IF_MATCH],
    "listPolicies": [_query("account_id", required=True), _query("iam_id"), _query("type", enum=["access"]),
                     _query("state", enum=["active", "deleted", "all"]), _query("limit", int), _query("start")],
    "replacePolicy": [IF_MATCH],
    "updatePolicyState": [IF_MATCH],
    "listRoles": [_query("account_id"), _query("service_name")],
    "updateAccountSettings": [IF_MATCH],
}
