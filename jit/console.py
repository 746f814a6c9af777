"""Console pages of just-in-time access: one request's page (Approve / Deny / Revoke with a comment, the
approvals so far, the time left) and the approver's inbox — the API's rules, through jit.services."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from iam_project.console import console_allows, record_console_refusal
from iam_project.errors import IAMError
from iam_project.identity import find_identity
from roles.authority import is_full_owner

from . import services
from .choices import RequestStatusChoices
from .models import AccessRequest, Approval

APPROVE, READ = "jit/requests:approve", "jit/requests:read"
DECISIONS = {"approve": (services.approve, "approved"), "deny": (services.deny, "denied"),
             "revoke": (services.revoke, "revoked")}


def _requests():
    return AccessRequest.objects.select_related("role", "approver_role").prefetch_related(
        Prefetch("approvals", queryset=Approval.objects.order_by("at", "id")))


def may_decide(identity, access_request):
    """The service's own rule (jit.services._ensure_can_decide), asked without acting: the API's view=approvable."""
    try:
        services._ensure_can_decide(identity, access_request)
    except IAMError:
        return False
    return True


def _name(iam_id):
    identity = find_identity(iam_id) if iam_id else None
    return str(identity) if identity is not None else iam_id


@require_http_methods(["GET", "POST"])
def request_view(request, pk):
    """GET: as GET /resources/jit/requests/{id} (the requester, or jit/requests:read or :approve);
    POST ``decision`` approve|deny|revoke with ``comment``: as POST .../{decision} — the service decides."""
    access_request = _requests().filter(pk=pk).first()
    if access_request is None:
        raise Http404("No such access request.")
    user = request.user
    if not (access_request.is_requester(user) or console_allows(request, READ) or console_allows(request, APPROVE)):
        record_console_refusal(request, user, READ, f"Permission {READ} is required.")
        raise PermissionDenied
    if request.method == "POST":
        decision = DECISIONS.get(request.POST.get("decision", ""))
        comment = request.POST.get("comment", "")
        if decision is None:
            messages.error(request, "decision: must be approve, deny or revoke.")
        elif len(comment) > 2000:
            messages.error(request, "comment: at most 2000 characters.")
        else:
            operation, done = decision
            try:
                operation(user, access_request.pk, comment=comment)
                messages.success(request, f"The request was {done}.")
            except IAMError as exc:  # StepUpRequired propagates: the middleware sends the viewer to verify
                if exc.status == 403:
                    record_console_refusal(request, user, None, exc.detail or exc.title)
                fields = " ".join(" ".join(v) for v in (exc.errors or {}).values())
                messages.error(request, " ".join(filter(None, [exc.detail, fields])) or exc.title)
        return HttpResponseRedirect(request.path)
    pending = access_request.status == RequestStatusChoices.PENDING
    active = access_request.status == RequestStatusChoices.ACTIVE
    can_decide = (pending or active) and may_decide(user, access_request)
    return TemplateResponse(request, "admin/jit/request.html", {
        **admin.site.each_context(request), "title": f"Access request for {access_request.role.key}",
        "r": access_request, "requester": _name(access_request.requester_iam_id),
        "approvals": [(a, _name(a.approver)) for a in access_request.approvals.all()],
        "can_decide": pending and can_decide,
        "can_revoke": active and (can_decide or access_request.is_requester(user) or is_full_owner(user)),
        "time_left": access_request.time_left(), "now": timezone.now(),
    })


def inbox_view(request):
    """The pending requests the viewer may decide (GET /resources/jit/requests?view=approvable)."""
    if not console_allows(request, APPROVE):
        record_console_refusal(request, request.user, APPROVE, f"Permission {APPROVE} is required.")
        raise PermissionDenied
    pending = _requests().filter(status=RequestStatusChoices.PENDING).exclude(
        requester_iam_id=request.user.iam_id).order_by("created_at")[:500]
    rows = [(r, _name(r.requester_iam_id)) for r in pending if may_decide(request.user, r)]
    return TemplateResponse(request, "admin/jit/inbox.html", {
        **admin.site.each_context(request), "title": "Requests awaiting my approval", "rows": rows,
    })


def request_url(pk):
    return reverse("console-jit-request", args=[pk])


urlpatterns = [
    path("inbox/", admin.site.admin_view(inbox_view), name="console-jit-inbox"),
    path("requests/<uuid:pk>/", admin.site.admin_view(request_view), name="console-jit-request"),
]
