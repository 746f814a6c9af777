"""Console screens for principals: list, edit, bindings inline, suspend / unsuspend actions."""

from django.contrib import admin, messages
from django.contrib.auth import get_user_model

from iam_project.errors import IAMError

from . import services


class PrincipalAdmin(admin.ModelAdmin):
    list_display = ("email", "display_name", "suspended", "must_change_password", "created_at")
    list_filter = ("suspended", "must_change_password")
    search_fields = ("email", "iam_id")
    readonly_fields = ("id", "iam_id", "suspended", "suspended_at", "last_login", "created_at", "updated_at",
                       "version")
    fields = ("id", "iam_id", "email", "properties", "suspended", "suspended_at", "must_change_password",
              "last_login", "created_at", "updated_at", "version")
    actions = ("suspend_selected", "unsuspend_selected")
    ordering = ("email",)

    def get_inlines(self, request, obj):
        from roles.admin import PrincipalBindingInline

        return [PrincipalBindingInline] if obj is not None else []

    @admin.action(description="Suspend selected principals", permissions=["change"])
    def suspend_selected(self, request, queryset):
        self._apply(request, queryset, services.suspend_principal, "suspended")

    @admin.action(description="Unsuspend selected principals", permissions=["change"])
    def unsuspend_selected(self, request, queryset):
        self._apply(request, queryset, services.unsuspend_principal, "unsuspended")

    def _apply(self, request, queryset, operation, verb):
        done = 0
        for principal in queryset:
            try:
                operation(request.user, principal.pk)
                done += 1
            except IAMError as exc:
                self.message_user(request, f"{principal}: {exc.detail}", messages.ERROR)
        if done:
            self.message_user(request, f"{done} principal(s) {verb}.", messages.SUCCESS)


admin.site.register(get_user_model(), PrincipalAdmin)
