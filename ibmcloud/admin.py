"""Console screen of the account: its id and settings, read-only (changed through the IBM API)."""

from django.contrib import admin

from iam_project.console import ReadOnlyAdminMixin

from .models import AccountSettings


@admin.register(AccountSettings)
class AccountSettingsAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("account_id", "restrict_create_platform_apikey", "mfa", "updated_at")
    readonly_fields = ("account_id", "restrict_create_service_id", "restrict_create_platform_apikey", "mfa",
                       "session_expiration_in_seconds", "session_invalidation_in_seconds",
                       "max_sessions_per_identity", "allowed_ip_addresses", "version", "created_at", "updated_at")
    fields = readonly_fields
