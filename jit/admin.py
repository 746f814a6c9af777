"""Console screens for just-in-time access: the eligibility editor, and requests to approve, deny or
revoke (with the time an active grant has left). Every change goes through jit.services."""

from django.contrib import admin

from iam_project.console import ReadOnlyAdminMixin, ServiceAdminMixin, console_action

from . import services
from .choices import RequestStatusChoices
from .durations import format_duration
from .models import AccessRequest, Eligibility


@admin.register(Eligibility)
class EligibilityAdmin(ServiceAdminMixin, admin.ModelAdmin):
    list_display = ("__str__", "role", "scope", "max_duration", "approval_required", "approver_role",
                    "approvals_required", "justification_required")
    list_filter = ("approval_required", "role")
    autocomplete_fields = ("principal", "role", "held_role", "approver_role")
    fields = ("principal", "client", "held_role", "role", "scope", "max_duration", "approval_required",
              "approver_role", "approvals_required", "justification_required", "created_by", "version")
    readonly_fields = ("created_by", "version")

    def save_model(self, request, obj, form, change):
        services.save_eligibility(request.user, obj, replacing=change)

    def delete_model(self, request, obj):
        services.delete_eligibility(request.user, obj.pk)


@admin.register(AccessRequest)
class AccessRequestAdmin(ReadOnlyAdminMixin, ServiceAdminMixin, admin.ModelAdmin):
    list_display = ("requester_iam_id", "role", "scope", "duration_iso", "status", "time_left_iso",
                    "justification", "created_at")
    list_filter = ("status", "role")
    search_fields = ("=requester_iam_id", "role__key", "justification")
    actions = ("approve_selected", "deny_selected", "revoke_selected")  # the services decide who may act
    fields = ("id", "requester_iam_id", "role", "scope", "duration_iso", "justification", "status",
              "approvals_list", "approvals_required", "starts_at", "expires_at", "time_left_iso", "decided_by",
              "decided_at", "decision_comment", "ended_by", "ended_at", "created_at")
    readonly_fields = fields

    def change_view(self, request, object_id, form_url="", extra_context=None):
        """One page per request: the request page (jit.console) with its Approve / Deny / Revoke buttons."""
        from django.http import HttpResponseRedirect

        from .console import request_url

        obj = self.get_object(request, object_id) if request.method == "GET" else None
        if obj is None or not self.has_view_permission(request, obj):
            return super().change_view(request, object_id, form_url, extra_context)
        return HttpResponseRedirect(request_url(obj.pk))

    @admin.display(description="duration")
    def duration_iso(self, obj):
        return format_duration(obj.duration)

    @admin.display(description="time left")
    def time_left_iso(self, obj):
        left = obj.time_left()
        return format_duration(left) if left is not None else "—"

    @admin.display(description="approvals")
    def approvals_list(self, obj):
        return ", ".join(f"{a.approver} at {a.at:%Y-%m-%d %H:%M:%S}" for a in obj.approvals.all()) or "—"

    @console_action("jit/requests:approve", "Approve the selected pending requests")
    def approve_selected(self, request, queryset):
        self.act_on_each(request, queryset.filter(status=RequestStatusChoices.PENDING), services.approve, "approved")

    @console_action("jit/requests:approve", "Deny the selected pending requests")
    def deny_selected(self, request, queryset):
        self.act_on_each(request, queryset.filter(status=RequestStatusChoices.PENDING), services.deny, "denied")

    @console_action("jit/requests:approve", "Revoke the selected active grants now")
    def revoke_selected(self, request, queryset):
        self.act_on_each(request, queryset.filter(status=RequestStatusChoices.ACTIVE), services.revoke, "revoked")
