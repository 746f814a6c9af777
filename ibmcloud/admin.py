"""Console screens of the IBM face: the account (read-only), trusted profiles with their claim rules (saved
and deleted through the same services and checks as /v1/profiles), and policies (read-only)."""

from django import forms
from django.contrib import admin

from iam_project.console import (HumanNamesMixin, ReadOnlyAdminMixin, ServiceAdminMixin, email_formfield_overrides,
                                 identity_column)
from iam_project.errors import InvalidInput

from . import services
from .models import AccountSettings, ClaimRule, Policy, TrustedProfile


@admin.register(AccountSettings)
class AccountSettingsAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("account_id", "restrict_create_platform_apikey", "mfa", "updated_at")
    readonly_fields = ("account_id", "restrict_create_service_id", "restrict_create_platform_apikey", "mfa",
                       "session_expiration_in_seconds", "session_invalidation_in_seconds",
                       "max_sessions_per_identity", "allowed_ip_addresses", "version", "created_at", "updated_at")
    fields = readonly_fields


def _add_service_errors(form, clean, fields):
    """Run the service's own check on the form's values; what it refuses is shown on the form's fields
    (``conditions[0].operator`` on ``conditions``), so the console refuses exactly what the API refuses."""
    try:
        clean()
    except InvalidInput as exc:
        for name, messages in exc.errors.items():
            field = name.split("[", 1)[0].split(".", 1)[0]
            form.add_error(field if field in fields else None, [f"{name}: {m}" if name != field else m
                                                                for m in messages])


class TrustedProfileForm(forms.ModelForm):
    class Meta:
        model = TrustedProfile
        fields = ("name", "description", "email")

    def clean(self):
        cleaned = super().clean()
        _add_service_errors(self, lambda: services.clean_profile(
            cleaned.get("name"), cleaned.get("description"), cleaned.get("email"), adding=True), self.fields)
        return cleaned


RULE_FIELDS = ("name", "type", "realm_name", "cr_type", "expiration", "conditions")


class ClaimRuleForm(forms.ModelForm):
    class Meta:
        model = ClaimRule
        fields = RULE_FIELDS

    def clean(self):
        cleaned = super().clean()
        if not self.has_changed() or cleaned.get("DELETE"):
            return cleaned
        _add_service_errors(self, lambda: services.clean_claim_rule(self.rule_fields(), adding=True), self.fields)
        return cleaned

    def rule_fields(self):
        return {name: self.cleaned_data.get(name) for name in RULE_FIELDS}


class ClaimRuleInline(admin.TabularInline):
    model = ClaimRule
    form = ClaimRuleForm
    extra = 0
    fields = RULE_FIELDS


@admin.register(TrustedProfile)
class TrustedProfileAdmin(ServiceAdminMixin, admin.ModelAdmin):
    """Profiles and their rules are written by ``ibmcloud.services`` only: the same validation, the same
    audit events and the same row locks as ``/v1/profiles``."""

    form = TrustedProfileForm
    list_display = ("name", "iam_id", "email", "updated_at")
    search_fields = ("name", "=iam_id")
    readonly_fields = ("id", "iam_id", "version", "created_at", "updated_at")
    fields = ("id", "iam_id", "name", "description", "email", "version", "created_at", "updated_at")
    inlines = [ClaimRuleInline]
    formfield_overrides = email_formfield_overrides()

    def save_model(self, request, obj, form, change):
        values = {name: form.cleaned_data.get(name) for name in ("name", "description", "email")}
        if change:
            saved = services.update_profile(request.user, obj.pk, **values)
        else:
            saved = services.create_profile(request.user, **values)
        obj.pk, obj.iam_id, obj.version = saved.pk, saved.iam_id, saved.version
        obj._state.adding = False

    def delete_model(self, request, obj):
        services.delete_profile(request.user, obj.pk)

    def save_formset(self, request, form, formset, change):
        """Each claim rule added, changed or deleted in the inline goes through its service."""
        profile = form.instance
        deleted = set(formset.deleted_forms)
        # What the admin's change message reads, as formset.save() would have left it.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for rule_form in deleted:
            if not rule_form.instance._state.adding:
                services.delete_claim_rule(request.user, profile.pk, rule_form.instance.pk)
                formset.deleted_objects.append(rule_form.instance)
        for rule_form in formset.forms:
            if rule_form in deleted or not rule_form.has_changed():
                continue
            if rule_form.instance._state.adding:
                formset.new_objects.append(
                    services.create_claim_rule(request.user, profile.pk, **rule_form.rule_fields()))
            else:
                formset.changed_objects.append((
                    services.update_claim_rule(request.user, profile.pk, rule_form.instance.pk,
                                               **rule_form.rule_fields()), rule_form.changed_data))


@admin.register(Policy)
class PolicyAdmin(HumanNamesMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """IBM-style policies, read-only here: they are made through /v1/policies (each one a binding,
    which the bindings screen shows and manages)."""

    list_display = ("id", "subject", "role", "scope", "state", "updated_at")
    identity_fields = ("subject_iam_id",)
    subject = identity_column("subject_iam_id", "subject")
    list_filter = ("state", "role")
    search_fields = ("=subject_iam_id", "role__key", "scope")
    readonly_fields = ("id", "type", "description", "state", "subject_iam_id", "role", "scope", "subjects",
                       "resources", "binding", "created_by", "last_modified_by", "version", "created_at",
                       "updated_at")
    fields = readonly_fields
