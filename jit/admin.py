"""Console screens for just-in-time access: the eligibility editor, and requests to approve, deny or
revoke (with the time an active grant has left). Every change goes through jit.services."""

from django.contrib import admin
from django.db import models

from iam_project.console import (HumanNamesMixin, ReadOnlyAdminMixin, ServiceAdminMixin, console_action,
                                 duration_column, identity_column, when_column)
from iam_project.consoleformat import human_duration_field

from . import services
from .choices import RequestStatusChoices
from .models import AccessRequest, Eligibility


@admin.register(Eligibility)
class EligibilityAdmin(HumanNamesMixin, ServiceAdminMixin, admin.ModelAdmin):
    list_display = ("__str__", "role", "scope", "max_duration_human", "approval_required", "approver_role",
                    "approvals_required", "justification_required")
    list_filter = ("approval_required", "role")
    autocomplete_fields = ("principal", "role", "held_role", "approver_role")
    fields = ("principal", "client", "held_role", "role", "scope", "max_duration", "approval_required",
              "approver_role", "approvals_required", "justification_required", "created_by_name", "version")
    readonly_fields = ("created_by_name", "version")
    created_by_name = identity_column("created_by", "created by")
    # Durations typed and shown as "1 h 30 min" (ISO 8601 still accepted).
    formfield_overrides = {models.DurationField: {"form_class": human_duration_field()}}
    max_duration_human = duration_column("max_duration", "max duration")

    def save_model(self, request, obj, form, change):
        services.save_eligibility(request.user, obj, replacing=change)

    def delete_model(self, request, obj):
        services.delete_eligibility(request.user, obj.pk)


@admin.register(AccessRequest)
class AccessRequestAdmin(HumanNamesMixin, ReadOnlyAdminMixin, ServiceAdminMixin, admin.ModelAdmin):
    list_display = ("requester", "role", "scope", "duration_iso", "status", "time_left_iso",
                    "justification", "requested")
    identity_fields = ("requester_iam_id",)
    list_filter = ("status", "role")
    search_fields = ("=requester_iam_id", "role__key", "justification")
    actions = ("approve_selected", "deny_selected", "revoke_selected")  # the services decide who may act
    fields = ("id", "requester", "role", "scope", "duration_iso", "justification", "status",
              "approvals_list", "approvals_required", "starts_at", "expires_at", "time_left_iso", "decided_by_name",
              "decided_at", "decision_comment", "ended_by_name", "ended_at", "created_at")
    readonly_fields = fields

    requester = identity_column("requester_iam_id", "requester")
    decided_by_name = identity_column("decided_by", "decided by")
    ended_by_name = identity_column("ended_by", "ended by")
    requested = when_column("created_at", "requested")
    duration_iso = duration_column("duration", "duration")  # "1 h 30 min" (the name kept for links to it)
    time_left_iso = duration_column("time_left", "time left")

    def change_view(self, request, object_id, form_url="", extra_context=None):
        """One page per request: the request page (jit.console) with its Approve / Deny / Revoke buttons."""
        from django.http import HttpResponseRedirect

        from .console import request_url

        obj = self.get_object(request, object_id) if request.method == "GET" else None
        if obj is None or not self.has_view_permission(request, obj):
            return super().change_view(request, object_id, form_url, extra_context)
        return HttpResponseRedirect(request_url(obj.pk))

    @admin.display(description="approvals")
    def approvals_list(self, obj):
        from django.utils.html import format_html_join

        from iam_project.consoleformat import identity_link, identity_names

        approvals = list(obj.approvals.all())
        names = identity_names(a.approver for a in approvals)
        return format_html_join(", ", "{} at {}", ((identity_link(a.approver, names), f"{a.at:%Y-%m-%d %H:%M:%S}")
                                                   for a in approvals)) or "—"

    @console_action("jit/requests:approve", "Approve the selected pending requests")
    def approve_selected(self, request, queryset):
        self.act_on_each(request, queryset.filter(status=RequestStatusChoices.PENDING), services.approve, "approved")

    @console_action("jit/requests:approve", "Deny the selected pending requests")
    def deny_selected(self, request, queryset):
        self.act_on_each(request, queryset.filter(status=RequestStatusChoices.PENDING), services.deny, "denied")

    @console_action("jit/requests:approve", "Revoke the selected active grants now")
    def revoke_selected(self, request, queryset):
        self.act_on_each(request, queryset.filter(status=RequestStatusChoices.ACTIVE), services.revoke, "revoked")
