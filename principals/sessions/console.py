"""Console page of a principal's sessions and OAuth grants, each with a Revoke button (the API's rules)."""

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path
from django.views.decorators.http import require_http_methods

from iam_project.console import console_allows, record_console_refusal
from iam_project.errors import IAMError

from . import services


def _require(request, permission, resource):
    if not console_allows(request, permission, resource):
        record_console_refusal(request, request.user, permission, f"Permission {permission} is required.")
        raise PermissionDenied


@require_http_methods(["GET", "POST"])
def principal_sessions_view(request, pk):
    """GET: the list (iam/principals:read on the principal); POST ``session``: revoke it
    (iam/principals:write on it, and the service's least-privilege rule)."""
    resource = f"iam/principals/{pk}"
    _require(request, "iam/principals:read", resource)
    principal = get_user_model().objects.filter(pk=pk).first()
    if principal is None:
        raise Http404("No such principal.")
    current_key = request.session.session_key
    if request.method == "POST":
        _require(request, "iam/principals:write", resource)
        try:
            services.revoke_session(request.user, principal.pk, request.POST.get("session", ""), current_key, None)
            messages.success(request, "The session was revoked: it stops working at its next request.")
        except IAMError as exc:
            if exc.status == 403:
                record_console_refusal(request, request.user, None, exc.detail or exc.title)
            fields = " ".join(" ".join(v) for v in (exc.errors or {}).values())
            messages.error(request, " ".join(filter(None, [exc.detail, fields])) or exc.title)
        return HttpResponseRedirect(request.path)
    return TemplateResponse(request, "admin/principals/sessions.html", {
        **admin.site.each_context(request), "title": f"Sessions of {principal}", "principal": principal,
        "entries": services.list_sessions(principal, current_session_key=current_key),
        "can_revoke": console_allows(request, "iam/principals:write", resource),
    })


urlpatterns = [
    path("principals/<uuid:pk>/", admin.site.admin_view(principal_sessions_view), name="console-principal-sessions"),
]
