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
