"""A principal's history in the console: its role bindings, API keys, just-in-time grants and sign-ins,
each section shown only to viewers who may read it (the same permissions as the API's lists)."""

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import path

from audit.models import AuditEvent
from clients.models import ApiKey
from iam_project.console import console_allows, record_console_refusal
from iam_project.consoleformat import identity_link, identity_names
from jit.models import AccessRequest
from roles.models import RoleBinding

ROWS = 50
SIGN_IN_ACTIONS = ("login.succeeded", "login.failed", "login.locked", "session.revoked", "mfa.verified",
                   "mfa.failed")


def principal_history_view(request, pk):
    resource = f"iam/principals/{pk}"
    if not console_allows(request, "iam/principals:read", resource):
        record_console_refusal(request, request.user, "iam/principals:read", "Permission iam/principals:read is required.")
        raise PermissionDenied
    principal = get_user_model().objects.filter(pk=pk).first()
    if principal is None:
        raise Http404("No such principal.")
    site = admin.site
    sections = {}
    if site._registry[RoleBinding].has_view_permission(request):
        sections["bindings"] = list(RoleBinding.objects.filter(principal=principal).select_related("role")
                                    .order_by("-created_at")[:ROWS])
    if site._registry[ApiKey].has_view_permission(request):
        sections["keys"] = list(ApiKey.objects.filter(principal=principal).order_by("-created_at")[:ROWS])
    if site._registry[AccessRequest].has_view_permission(request):
        sections["grants"] = list(AccessRequest.objects.filter(principal=principal).select_related("role")
                                  .order_by("-created_at")[:ROWS])
    if site._registry[AuditEvent].has_view_permission(request):
        sections["signins"] = list(AuditEvent.objects.filter(actor=principal.iam_id, action__in=SIGN_IN_ACTIONS)
                                   .order_by("-seq")[:ROWS])
        sections["about"] = list(AuditEvent.objects.filter(target_id__in=[str(principal.pk), principal.iam_id])
                                 .order_by("-seq")[:ROWS])
    ids = [b.created_by for b in sections.get("bindings", [])]
    ids += [g.decided_by for g in sections.get("grants", [])] + [e.actor for e in sections.get("about", [])]
    names = identity_names(ids)
    for binding in sections.get("bindings", []):
        binding.created_by_html = identity_link(binding.created_by, names)
    for grant in sections.get("grants", []):
        grant.decided_by_html = identity_link(grant.decided_by, names) if grant.decided_by else "—"
    for event in sections.get("about", []):
        event.actor_html = identity_link(event.actor, names)
    context = {**site.each_context(request), "title": f"History of {principal.email}", "principal": principal,
               "sections": sections}
    return TemplateResponse(request, "admin/principals/history.html", context)


urlpatterns = [
    path("principals/<uuid:pk>/", admin.site.admin_view(principal_history_view), name="console-principal-history"),
]
