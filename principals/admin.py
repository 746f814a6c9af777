"""Console screens for principals: list, edit, bindings inline, suspend / unsuspend actions."""

from django.contrib import admin
from django.contrib.auth import get_user_model

from iam_project.console import ServiceAdminMixin, console_action, email_formfield_overrides
from roles.console import GraphSearchMixin

from . import services
from .forms import ConsolePasswordChangeForm, PrincipalChangeForm, PrincipalCreationForm


class PrincipalAdmin(GraphSearchMixin, ServiceAdminMixin, admin.ModelAdmin):
    graph_identity_type = "principal"
    list_display = ("email", "display_name", "suspended", "must_change_password", "created_at")
    list_filter = ("suspended", "must_change_password")
    search_fields = ("email", "iam_id")
    readonly_fields = ("id", "iam_id", "suspended", "suspended_at", "last_login", "created_at", "updated_at",
                       "version")
    fields = ("id", "iam_id", "email", "properties", "suspended", "suspended_at", "must_change_password",
              "last_login", "created_at", "updated_at", "version")
    actions = ("suspend_selected", "unsuspend_selected", "reset_password_selected")
    ordering = ("email",)
    formfield_overrides = email_formfield_overrides()

    def get_inlines(self, request, obj):
        from roles.admin import PrincipalBindingInline

        return [PrincipalBindingInline] if obj is not None else []

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["form"] = PrincipalCreationForm if obj is None else PrincipalChangeForm
        return super().get_form(request, obj, change, **kwargs)

    def get_fields(self, request, obj=None):
        return ("email", "name", "roles", "invitation") if obj is None else self.fields

    def save_model(self, request, obj, form, change):
        if change:
            saved = services.update_principal(request.user, obj.pk, email=form.cleaned_data["email"],
                                              properties=_replacing(obj, form.cleaned_data["properties"]))
        else:
            name = form.cleaned_data.get("name", "").strip()
            saved = services.create_principal(request.user, form.cleaned_data["email"],
                                              properties={"name": name} if name else {},
                                              roles=[role.key for role in form.cleaned_data.get("roles") or ()])
            if form.cleaned_data.get("invitation") == PrincipalCreationForm.INVITE:
                services.request_password_reset(request.user, saved.pk)  # the mail carries a temporary password
                self.message_user(request, f"An invitation with a temporary password is on its way to {saved.email}.")
        obj.pk, obj.version = saved.pk, saved.version

    def delete_model(self, request, obj):
        services.delete_principal(request.user, obj.pk)

    def save_related(self, request, form, formsets, change):
        """Bindings through roles.services (least privilege, step-up); nothing else is related."""
        from roles.admin import save_binding_formset

        for formset in formsets:
            save_binding_formset(request, form.instance, formset)

    @console_action("iam/principals:write", "Mail a temporary password to selected principals")
    def reset_password_selected(self, request, queryset):
        self.act_on_each(request, queryset, services.request_password_reset, "sent a temporary password")

    @console_action("iam/principals:write", "Suspend selected principals")
    def suspend_selected(self, request, queryset):
        self.act_on_each(request, queryset, services.suspend_principal, "suspended")

    @console_action("iam/principals:write", "Unsuspend selected principals")
    def unsuspend_selected(self, request, queryset):
        self.act_on_each(request, queryset, services.unsuspend_principal, "unsuspended")



def _replacing(principal, properties):
    """A merge patch that makes the stored properties exactly ``properties`` (removed rows become null)."""
    from django.contrib.auth import get_user_model

    stored = get_user_model().objects.filter(pk=principal.pk).values_list("properties", flat=True).first() or {}
    return {**{key: None for key in stored if key not in properties}, **properties}


admin.site.register(get_user_model(), PrincipalAdmin)
admin.site.password_change_form = ConsolePasswordChangeForm
