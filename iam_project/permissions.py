"""The DRF permission class: each view names the permission an action needs; the engine decides."""

import logging

from rest_framework import exceptions, permissions

from .access import decide

logger = logging.getLogger(__name__)


def token_scopes(request):
    """The scopes of the request's access token, or None for a session (no token cap)."""
    token = getattr(request, "auth", None)
    if token is None or not hasattr(token, "scope"):
        return None
    return (token.scope or "").split()


def request_decision_context(request):
    """What the engine's conditions look at: the client IP found by the request-context middleware."""
    return {"ip": getattr(request._request, "client_ip", None) or request.META.get("REMOTE_ADDR")}


def allowed(request, permission, resource=None):
    """The engine's answer for the request's identity, token scopes and context (no side effect)."""
    return decide(request.user, permission, resource=resource, context=request_decision_context(request),
                  scopes=token_scopes(request))


def require(request, permission, resource=None):
    """Refuse (403, recorded as access.denied) unless the request's identity may ``permission``.
    For checks a view makes beyond its declared ones (e.g. a list's ``view=all``)."""
    decision = allowed(request, permission, resource)
    if not decision.allowed:
        identity = request.user
        logger.info("access.denied actor=%s permission=%s reason=%r", identity.iam_id, permission, decision.reason)
        from iam_project.hooks import emit_access_denied

        emit_access_denied(request, identity, permission, decision)
        raise exceptions.PermissionDenied(f"Permission {permission} is required: {decision.reason}.")
    return decision


def ensure_implemented(request, view):
    """405 (with Allow) for a method the view has no handler for, before any permission is looked up:
    a missing handler is not a missing permission."""
    if getattr(view, request.method.lower(), None) is None:
        raise exceptions.MethodNotAllowed(request.method)


class HasIAMPermission(permissions.BasePermission):
    """Views declare ``required_permissions = {action: "resource:verb"}`` (``"*"`` for every other
    action) and, optionally, ``permission_resource`` — the resource path of the objects, to which
    the lookup value of a detail route is appended so that scoped bindings apply."""

    message = "You do not have permission to perform this action."

    def has_permission(self, request, view):
        ensure_implemented(request, view)
        identity = request.user
        if identity is None or not getattr(identity, "is_authenticated", False):
            raise exceptions.NotAuthenticated()
        if getattr(identity, "must_change_password", False) and not getattr(view, "allow_pending_password", False):
            raise exceptions.PermissionDenied(
                "You must change your password first (POST /resources/me/password)."
            )
        permission = self.required_permission(request, view)
        if permission is None:
            return True  # the view allows any authenticated identity (e.g. /resources/me)
        require(request, permission, resource=self.target(view))
        return True

    @staticmethod
    def required_permission(request, view):
        required = getattr(view, "required_permissions", None)
        if required is None:
            raise exceptions.PermissionDenied("This endpoint declares no permission.")
        action = getattr(view, "action", None) or request.method.lower()
        if action == "metadata":
            return None  # OPTIONS describes the view (as the public OpenAPI document does); it changes nothing
        if action == "head" and "head" not in required:
            action = "get"
        if action in required:
            return required[action]
        if "*" in required:
            return required["*"]
        raise exceptions.PermissionDenied("This endpoint declares no permission for this action.")

    @staticmethod
    def target(view):
        base = getattr(view, "permission_resource", None)
        if not base:
            return None
        lookup = getattr(view, "lookup_url_kwarg", None) or getattr(view, "lookup_field", None)
        value = view.kwargs.get(lookup) if lookup else None
        return f"{base}/{value}" if value else None

