"""Console screens for roles (ACL entries validated, system roles read-only) and bindings."""

from django.contrib import admin

from iam_project.console import HumanNamesMixin, ServiceAdminMixin, identity_column, when_column

from . import services
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


class RoleAdmin(ServiceAdminMixin, admin.ModelAdmin):
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

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields + (("key",) if obj is not None else ())

    def save_model(self, request, obj, form, change):
        saved, _ = services.put_role(request.user, obj.key, obj.description, obj.acl_entries)
        obj.pk, obj.version = saved.pk, saved.version

    def delete_model(self, request, obj):
        services.delete_role(request.user, obj)


class RoleBindingAdmin(HumanNamesMixin, ServiceAdminMixin, admin.ModelAdmin):
    list_display = ("role", "principal", "client", "scope", "source", "expires", "created_by_name")
    identity_fields = ("created_by",)
    expires = when_column("expires_at", "expires")
    created_by_name = identity_column("created_by", "created by")
    list_filter = ("source", "role")
    search_fields = ("principal__email", "client__name", "role__key", "scope")
    autocomplete_fields = ("principal", "role")
    readonly_fields = ("id", "created_by", "version", "created_at", "updated_at")
    fields = ("id", "principal", "client", "role", "scope", "conditions", "starts_at", "expires_at", "source",
              "created_by", "version", "created_at", "updated_at")

    def get_readonly_fields(self, request, obj=None):
        # A binding is granted or removed, not edited: changing it in place would skip the checks.
        if obj is not None:
            return [f for f in self.fields]
        return self.readonly_fields + ("source",)

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        saved = services.bind_role(request.user, obj.principal or obj.client, obj.role, scope=obj.scope,
                                   conditions=obj.conditions, starts_at=obj.starts_at, expires_at=obj.expires_at)
        obj.pk = saved.pk

    def delete_model(self, request, obj):
        # Routed by source: a policy's binding deletes the policy's grant, a just-in-time one revokes
        # its access request (under who may revoke it), a direct one is unbound.
        services.remove_binding(request.user, obj)


admin.site.register(Role, RoleAdmin)
admin.site.register(RoleBinding, RoleBindingAdmin)
