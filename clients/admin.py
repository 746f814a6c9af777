"""Console screens for clients (system clients read-only)."""

from django.contrib import admin
from oauth2_provider.models import get_application_model

from iam_project.console import audit_history_redirect


class ClientAdmin(admin.ModelAdmin):
    list_display = ("name", "client_id", "client_type", "is_system", "suspended", "created")
    list_filter = ("client_type", "is_system", "suspended")
    search_fields = ("name", "client_id", "iam_id")
    readonly_fields = ("id", "client_id", "iam_id", "is_system", "version", "created", "updated")
    fields = ("id", "client_id", "iam_id", "name", "client_type", "grant_types", "redirect_uris", "scopes",
              "skip_authorization", "properties", "suspended", "is_system", "version", "created", "updated")

    def history_view(self, request, object_id, extra_context=None):
        return audit_history_redirect(object_id)

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.is_system:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.is_system:
            return False
        return super().has_delete_permission(request, obj)


Client = get_application_model()
if admin.site.is_registered(Client):  # django-oauth-toolkit registers its own screen first
    admin.site.unregister(Client)
admin.site.register(Client, ClientAdmin)
