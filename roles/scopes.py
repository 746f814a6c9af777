"""OAuth scopes: 'openid profile email' plus permission scopes ('iam/principals:read', ...).

A client may only receive the scopes it is allowed (its ``scopes`` list, patterns included);
what a token can then do is the intersection of its scopes and its identity's permissions,
decided per request by the engine.
"""

from oauth2_provider.scopes import BaseScopes

from .permissions import pattern_matches, split_permission

OIDC_SCOPES = {
    "openid": "Sign you in",
    "profile": "Your name",
    "email": "Your email address",
}


def is_permission_scope(scope):
    try:
        split_permission(scope)
    except ValueError:
        return False
    return True


def client_allows_scope(client, scope):
    if scope in OIDC_SCOPES:
        return True
    if not is_permission_scope(scope):
        return False
    resource, action = split_permission(scope)
    for allowed in client.scopes or []:
        if is_permission_scope(allowed):
            allowed_resource, allowed_action = split_permission(allowed)
            if pattern_matches(allowed_resource, resource) and pattern_matches(allowed_action, action):
                return True
    return False


class ScopeCatalogue(dict):
    """The named scopes, and a description for any permission scope looked up in it."""

    def __missing__(self, scope):
        if not is_permission_scope(scope):
            raise KeyError(scope)
        resource, action = split_permission(scope)
        verb = "do anything" if action == "*" else action
        where = "every resource" if resource == "*" else resource
        return f"{verb} on {where}, as far as you are allowed to"


class PermissionScopes(BaseScopes):
    def get_all_scopes(self):
        scopes = ScopeCatalogue(OIDC_SCOPES)
        scopes["*:*"] = "Everything you are allowed to do"
        return scopes

    def get_available_scopes(self, application=None, request=None, *args, **kwargs):
        if application is None:
            return list(OIDC_SCOPES)
        requested = (getattr(request, "scopes", None) or []) if request is not None else []
        allowed = [scope for scope in requested if client_allows_scope(application, scope)]
        return list(OIDC_SCOPES) + [s for s in allowed if s not in OIDC_SCOPES] + list(application.scopes or [])

    def get_default_scopes(self, application=None, request=None, *args, **kwargs):
        if application is None:
            return ["openid"]
        return [s for s in application.scopes or []] or ["openid"]
