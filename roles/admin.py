"""Console screens for roles (ACL entries validated, system roles read-only) and bindings."""

from django.contrib import admin

from .models import Role, RoleBinding


class PrincipalBindingInline(admin.TabularInline):
    model = RoleBinding
    fk_name = "principal"
    extra = 0
    fields = ("role", "scope", "source", "starts_at", "expires_at", "created_by", "created_at")
    readonly_fields = ("role", "scope", "source", "starts_at", "expires_at", "created_by", "created_at")
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


class RoleAdmin(admin.ModelAdmin):
    list_display = ("key", "description", "is_system", "updated_at")
    list_filter = ("is_system",)
    search_fields = ("key", "description")
    readonly_fields = ("id", "is_system", "version", "created_at", "updated_at")
    fields = ("id", "key", "description", "acl_entries", "is_system", "version", "created_at", "updated_at")

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.is_system:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.is_system:
            return False
        return super().has_delete_permission(request, obj)


class RoleBindingAdmin(admin.ModelAdmin):
    list_display = ("role", "principal", "client", "scope", "source", "expires_at", "created_by")
    list_filter = ("source", "role")
    search_fields = ("principal__email", "client__name", "role__key", "scope")
    autocomplete_fields = ("principal", "role")
    readonly_fields = ("id", "created_by", "version", "created_at", "updated_at")


admin.site.register(Role, RoleAdmin)
admin.site.register(RoleBinding, RoleBindingAdmin)
