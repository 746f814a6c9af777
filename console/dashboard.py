"""The console's dashboard (the admin index): counts, approvals waiting, grants ending, recent refusals,
a 14-day chart from the audit trail and the chain's last verification — each panel only for viewers
whose roles let them read what it shows (the same model permissions as the list screens and the API)."""

from datetime import timedelta

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db.models import Count
from django.db.models.functions import TruncDate
from django.utils import timezone

from audit.models import AuditEvent, ChainVerification
from clients.models import Client
from iam_project.consoleformat import identity_link, identity_names
from jit import services as jit_services
from jit.choices import RequestStatusChoices
from jit.models import AccessRequest
from roles import engine
from roles.models import Role, RoleBinding

CHART_DAYS = 14
# What the chart counts, by audit action: (action, label, css class of its bars).
CHART_SERIES = (("login.succeeded", "Sign-ins", "signins"), ("token.issued", "Token issues", "tokens"),
                ("access.denied", "Denials", "denials"))
REFUSAL_ACTIONS = ("access.denied", "login.failed", "login.locked")
PANEL_ROWS = 10


def _may_read(request, model):
    model_admin = admin.site._registry.get(model)
    return model_admin is not None and model_admin.has_view_permission(request)


def _pending_for(viewer, now):
    """Pending requests this viewer could decide (jit.services' own rule, so the list never offers
    one the service would refuse)."""
    if not engine.holds(viewer, *jit_services.APPROVE_PERMISSION):
        return []
    mine = []
    candidates = (AccessRequest.objects.filter(status=RequestStatusChoices.PENDING)
                  .exclude(requester_iam_id=viewer.iam_id).select_related("role", "approver_role")
                  .order_by("created_at")[:PANEL_ROWS * 2])
    for request in candidates:
        try:
            jit_services._ensure_can_decide(viewer, request)
        except Exception:  # noqa: BLE001 — Forbidden: not this viewer's to decide
            continue
        mine.append(request)
        if len(mine) == PANEL_ROWS:
            break
    return mine


def chart(now):
    """Per day (UTC) and series, the count of events; then the bars of a grouped bar chart as SVG
    geometry, drawn by the template (no script, no inline style: the CSP allows neither)."""
    start = (now - timedelta(days=CHART_DAYS - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    days = [(start + timedelta(days=i)).date() for i in range(CHART_DAYS)]
    counts = {(row["day"], row["action"]): row["n"] for row in (
        AuditEvent.objects.filter(at__gte=start, action__in=[a for a, _, _ in CHART_SERIES])
        .annotate(day=TruncDate("at")).values("day", "action").annotate(n=Count("seq")))}
    peak = max(counts.values(), default=0) or 1
    width, height, pad = 700, 200, 24
    slot = (width - pad) / CHART_DAYS
    bar = slot / (len(CHART_SERIES) + 1)
    bars, labels = [], []
    for i, day in enumerate(days):
        for j, (action, label, css) in enumerate(CHART_SERIES):
            n = counts.get((day, action), 0)
            h = round((height - pad) * n / peak, 1)
            bars.append({"x": round(pad + i * slot + j * bar, 1), "y": round(height - pad - h, 1), "w": round(bar, 1),
                         "h": h, "css": css, "title": f"{day:%b %d}: {n} {label.lower()}"})
        labels.append({"x": round(pad + i * slot + slot / 2 - bar / 2, 1), "text": f"{day:%d}"})
    totals = [{"label": label, "css": css, "n": sum(counts.get((d, action), 0) for d in days)}
              for action, label, css in CHART_SERIES]
    return {"bars": bars, "labels": labels, "width": width, "height": height, "axis_y": height - pad + 14,
            "base_y": height - pad, "peak": peak, "totals": totals, "first": days[0], "last": days[-1]}


def dashboard_context(request):
    """The panels the viewer may see, as template context (``dashboard``)."""
    now = timezone.now()
    viewer = request.user
    Principal = get_user_model()
    panels = {"now": now}
    counts = []
    for model, label, url in ((Principal, "Principals", "admin:principals_principal_changelist"),
                              (Client, "Clients", "admin:clients_client_changelist"),
                              (Role, "Roles", "admin:roles_role_changelist")):
        if _may_read(request, model):
            counts.append({"label": label, "n": model.objects.count(), "url": url})
    if _may_read(request, AccessRequest):
        counts.append({"label": "Active grants", "url": "admin:jit_accessrequest_changelist",
                       "n": AccessRequest.objects.filter(status=RequestStatusChoices.ACTIVE).count(),
                       "query": "status__exact=active"})
        panels["pending"] = _pending_for(viewer, now)
        panels["expiring"] = list(
            AccessRequest.objects.filter(status=RequestStatusChoices.ACTIVE, expires_at__gt=now,
                                         expires_at__lte=now + timedelta(hours=24))
            .select_related("role").order_by("expires_at")[:PANEL_ROWS])
    if _may_read(request, RoleBinding):
        panels["expiring_bindings"] = list(
            RoleBinding.objects.filter(expires_at__gt=now, expires_at__lte=now + timedelta(hours=24))
            .select_related("role", "principal", "client").order_by("expires_at")[:PANEL_ROWS])
    panels["counts"] = counts
    if _may_read(request, AuditEvent):
        panels["refusals"] = list(AuditEvent.objects.filter(action__in=REFUSAL_ACTIONS).order_by("-seq")[:PANEL_ROWS])
        panels["chart"] = chart(now)
        panels["verification"] = ChainVerification.objects.order_by("-at").first()
        panels["audit_readable"] = True
    ids = [r.requester_iam_id for r in panels.get("pending", []) + panels.get("expiring", [])]
    ids += [e.actor for e in panels.get("refusals", [])]
    names = identity_names(ids)
    for row in panels.get("pending", []) + panels.get("expiring", []):
        row.requester_html = identity_link(row.requester_iam_id, names)
    for event in panels.get("refusals", []):
        event.actor_html = identity_link(event.actor, names)
    return panels
