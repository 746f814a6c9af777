"""Console screens for roles (ACL entries as rows, system roles read-only) and bindings (conditions as
fields; granted and removed inline on principals and clients through roles.services)."""

from django.contrib import admin
from django.forms.models import BaseInlineFormSet

from iam_project.console import (HumanNamesMixin, ServiceAdminMixin, console_allows, identity_column,
                                 when_column)

from . import services
from .forms import BindingForm, RoleForm
from .models import Role, RoleBinding


class BindingFormSet(BaseInlineFormSet):
    """A post that does not carry the bindings' rows (an older form, a script) leaves the bindings alone
    instead of failing the whole save for a missing management form."""

    def __init__(self, data=None, files=None, instance=None, save_as_new=False, prefix=None, queryset=None, **kwargs):
        prefix = prefix or self.get_default_prefix()
        if data is not None and f"{prefix}-TOTAL_FORMS" not in data:
            data = data.copy()
            data.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"})
        super().__init__(data, files, instance, save_as_new, prefix, queryset, **kwargs)


class BindingInline(admin.TabularInline):
    """An identity's bindings: existing rows are shown (removed with *Delete*), a new row grants a role.
    Saved by ``save_binding_formset`` through create_binding / remove_binding — least privilege and
    step-up apply, and a refusal is a message. Adding or removing asks the engine for the write
    permission on the identity (``identity_permission``), as the API's roles change does."""

    model = RoleBinding
    form = BindingForm
    formset = BindingFormSet
    extra = 1
    fields = ("role", "scope", "expires_at", "conditions", "source", "created_by_name")
    readonly_fields = ("conditions", "source", "created_by_name")
    created_by_name = identity_column("created_by", "created by")
    show_change_link = True
    identity_permission = None

    def _may_write(self, request, obj):
        return obj is not None and console_allows(request, self.identity_permission, f"{self.identity_prefix}/{obj.pk}")

    def has_add_permission(self, request, obj=None):
        return self._may_write(request, obj)

    def has_change_permission(self, request, obj=None):
        return False  # a binding is granted or removed, never edited in place (that would skip the checks)

    def has_delete_permission(self, request, obj=None):
        return self._may_write(request, obj)

    def has_view_permission(self, request, obj=None):
        return True  # shown on a screen the viewer may already read


class PrincipalBindingInline(BindingInline):
    fk_name = "principal"
    identity_permission, identity_prefix = "iam/principals:write", "iam/principals"


class ClientBindingInline(BindingInline):
    fk_name = "client"
    identity_permission, identity_prefix = "iam/clients:write", "iam/clients"


def save_binding_formset(request, identity, formset):
    """Remove the rows marked for deletion and grant the new ones, each through roles.services; the
    admin's transaction makes the whole save one write (a refusal rolls it all back)."""
    # What formset.save() would have recorded, for the admin's change message.
    formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
    # (A new row's instance already has its UUID: _state.adding, not pk, tells new from stored.)
    for form in formset.deleted_forms:
        if not form.instance._state.adding:
            services.remove_binding(request.user, RoleBinding.objects.get(pk=form.instance.pk))
            formset.deleted_objects.append(form.instance)
    for form in formset.forms:
        if form in formset.deleted_forms or not form.instance._state.adding or not form.has_changed():
            continue
        data = form.cleaned_data
        if not data.get("role"):
            continue
        formset.new_objects.append(services.bind_role(
            request.user, identity, data["role"], scope=data.get("scope") or "",
            conditions=data.get("conditions") or None, starts_at=data.get("starts_at"),
            expires_at=data.get("expires_at")))


class RoleAdmin(ServiceAdminMixin, admin.ModelAdmin):
    form = RoleForm
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
    readonly_fields = ("id", "created_by_name", "version", "created_at", "updated_at")
    fields = ("id", "principal", "client", "role", "scope", "conditions", "starts_at", "expires_at", "source",
              "created_by_name", "version", "created_at", "updated_at")

    form = BindingForm
    add_fields = ("principal", "client", "role", "scope", "ip_ranges", "days", "start", "end", "timezone",
                  "starts_at", "expires_at")

    def get_fields(self, request, obj=None):
        return self.add_fields if obj is None else self.fields

    def get_readonly_fields(self, request, obj=None):
        # A binding is granted or removed, not edited: changing it in place would skip the checks.
        if obj is not None:
            return [f for f in self.fields]
        return ()

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        conditions = form.cleaned_data.get("conditions", obj.conditions) if form is not None else obj.conditions
        saved = services.bind_role(request.user, obj.principal or obj.client, obj.role, scope=obj.scope,
                                   conditions=conditions, starts_at=obj.starts_at, expires_at=obj.expires_at)
        obj.pk = saved.pk

    def delete_model(self, request, obj):
        # Routed by source: a policy's binding deletes the policy's grant, a just-in-time one revokes
        # its access request (under who may revoke it), a direct one is unbound.
        services.remove_binding(request.user, obj)


admin.site.register(Role, RoleAdmin)
admin.site.register(RoleBinding, RoleBindingAdmin)
