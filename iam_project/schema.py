"""OpenAPI descriptions of the platform's authentication classes (drf-spectacular extensions)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "iam_project.authentication.BearerTokenAuthentication"
    name = "bearerToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An access token from /oauth/token; its scopes cap what it may do.",
        }


class SessionScheme(OpenApiAuthenticationExtension):
    target_class = "iam_project.authentication.SessionAuthentication"
    name = "consoleSession"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "cookie", "name": "sessionid",
                "description": "The console session (unsafe methods also need the CSRF token)."}


# --- error responses, declared once for every operation -----------------------------------------------------

PROBLEM_SCHEMA = {
    "type": "object",
    "description": "RFC 9457 problem details.",
    "properties": {
        "type": {"type": "string", "format": "uri"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "requestId": {"type": "string", "description": "Also in the X-Request-ID header; names the request in the logs."},
        "errors": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}},
                   "description": "Each field at fault (dotted path) and what is wrong with it."},
    },
    "required": ["type", "title", "status", "detail"],
}
IBM_ERROR_SCHEMA = {
    "type": "object",
    "description": "IBM Cloud's error shape (the token service also sets errorCode and errorMessage).",
    "properties": {
        "trace": {"type": "string", "description": "The request id (also in the X-Request-ID header)."},
        "errors": {"type": "array", "minItems": 1, "items": {
            "type": "object", "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
            "required": ["code", "message"]}},
        "status_code": {"type": "integer"},
        "errorCode": {"type": "string"},
        "errorMessage": {"type": "string"},
    },
    "required": ["errors"],
}

ERROR_DESCRIPTIONS = {
    "400": "Bad input: malformed or too deeply nested JSON, a field at fault (named), text the database cannot "
           "store (NUL).",
    "401": "No valid credentials (a bearer token or the console session).",
    "403": "The identity, or the token's scopes, lack the permission.",
    "404": "No such resource (or route).",
    "406": "The Accept header asks for a representation or version this API does not have.",
    "409": "Conflict: If-Match no longer matches, or the change contradicts the current state.",
    "413": "The request body is larger than the server accepts.",
    "414": "The request line (path and query) is longer than the HTTP server in front accepts.",
    "415": "The request body's Content-Type is not one this operation reads.",
    "429": "Too many requests; Retry-After says when to try again.",
}
WRITE_METHODS = {"post", "put", "patch", "delete"}
BODY_METHODS = {"post", "put", "patch"}
IBM_PREFIXES = ("/identity/", "/v1/", "/v2/")


def _statuses(method, operation):
    statuses = ["400", "404", "406", "414", "429"]
    if operation.get("security"):
        statuses += ["401", "403"]
    if method in WRITE_METHODS:
        statuses.append("409")
    if method in BODY_METHODS:
        statuses += ["413", "415"]
    return statuses


def add_error_responses(result, generator, request, public):
    """drf-spectacular postprocessing hook: every operation declares the errors the platform answers
    (problem+json on /resources/, IBM's shape on the IBM face), so a client — or the schema fuzzer in
    CI — can rely on the document for every status code, not only the successes."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("Problem", PROBLEM_SCHEMA)
    schemas.setdefault("IBMError", IBM_ERROR_SCHEMA)
    for path, operations in result.get("paths", {}).items():
        ibm = path.startswith(IBM_PREFIXES)
        if path.startswith("/resources/"):
            _uuid_path_parameters(operations)
        media_type = "application/json" if ibm else "application/problem+json"
        ref = {"$ref": "#/components/schemas/" + ("IBMError" if ibm else "Problem")}
        for method, operation in operations.items():
            if method not in {"get", "put", "post", "patch", "delete", "head", "options", "trace"}:
                continue
            responses = operation.setdefault("responses", {})
            for status in _statuses(method, operation):
                declared = responses.get(status)
                if declared is None or declared.get("content", {}).get(media_type, {}).get("schema") in (
                        None, {"type": "object", "additionalProperties": {}}):
                    responses[status] = {"description": ERROR_DESCRIPTIONS[status],
                                         "content": {media_type: {"schema": ref}}}
                if status == "414":  # answered by the HTTP server in front, before the application: no body of ours
                    responses[status] = {"description": ERROR_DESCRIPTIONS[status]}
                if status == "429":  # the rate limits (iam_project.ratelimit) say when to come back
                    responses[status].setdefault("headers", {"Retry-After": {
                        "description": "Seconds until the limit's window passes.", "schema": {"type": "integer"}}})
    return result


UUID_PARAMETERS = {"id", "secret_id"}


def _uuid_path_parameters(operations):
    """Every ``{id}`` of /resources/ is a UUID (the routers only say "no slash"): say so, so that clients —
    and the fuzzer — send ids the API can create or find, not strings it can only refuse."""
    for operation in operations.values():
        if not isinstance(operation, dict):
            continue
        for parameter in operation.get("parameters", []):
            if parameter.get("in") == "path" and parameter.get("name") in UUID_PARAMETERS:
                parameter["schema"] = {"type": "string", "format": "uuid"}
