"""Console screens for clients and their secrets. Writes go through clients.services; a new secret is
shown once, on the page that made it, and never stored anywhere but as a digest."""

from django.contrib import admin, messages
from django.template.response import TemplateResponse
from oauth2_provider.models import get_application_model

from iam_project.console import (HumanNamesMixin, ServiceAdminMixin, console_action, console_allows, identity_column,
                                 when_column)
from roles.console import GraphSearchMixin

from . import services
from .forms import KINDS, ClientForm, ClientWizardForm
from .models import ApiKey, ClientSecret

NEW_SECRETS_SESSION_KEY = "clients.new_secrets"


class ClientSecretInline(admin.TabularInline):
    model = ClientSecret
    extra = 0
    fields = ("prefix", "created_at", "expires_at", "last_used_at", "created_by_name")
    readonly_fields = fields
    can_delete = False
    created_by_name = identity_column("created_by", "created by")
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


class ClientAdmin(GraphSearchMixin, ServiceAdminMixin, admin.ModelAdmin):
    graph_identity_type = "client"
    list_display = ("name", "client_id", "client_type", "is_system", "suspended", "created")
    list_filter = ("client_type", "is_system", "suspended")
    search_fields = ("name", "client_id", "iam_id")
    readonly_fields = ("id", "client_id", "iam_id", "is_system", "version", "created", "updated")
    fields = ("id", "client_id", "iam_id", "name", "client_type", "grant_types", "redirect_uris", "scopes",
              "skip_authorization", "suspended", "is_system", "version", "created", "updated")
    inlines = [ClientSecretInline]
    actions = ("new_secret_selected",)
    form = ClientForm

    def get_inlines(self, request, obj):
        from roles.admin import ClientBindingInline

        return [ClientSecretInline, ClientBindingInline] if obj is not None else [ClientSecretInline]

    def save_formset(self, request, form, formset, change):
        """Bindings through roles.services (least privilege, step-up); the secrets' inline is read-only."""
        from roles.admin import save_binding_formset
        from roles.models import RoleBinding

        if formset.model is RoleBinding:
            return save_binding_formset(request, form.instance, formset)
        return super().save_formset(request, form, formset, change)

    def changelist_view(self, request, extra_context=None):
        from django.urls import reverse

        extra = {"wizard_url": reverse("admin:clients_client_wizard") if self.has_add_permission(request) else None}
        return super().changelist_view(request, {**extra, **(extra_context or {})})

    def wizard_view(self, request):
        """New client in three choices: the kind (web app, SPA, machine to machine) sets the client type,
        grant types and PKCE; then name, redirect URIs, scopes. Asks what POST /resources/iam/clients asks
        (iam/clients:write), creates through clients.services, and shows a confidential client's secret once."""
        from django.core.exceptions import PermissionDenied
        from django.http import HttpResponseRedirect
        from django.urls import reverse

        from iam_project.console import record_console_refusal
        from iam_project.errors import IAMError

        if not self.has_add_permission(request):
            record_console_refusal(request, request.user, "iam/clients:write", "Creating clients was refused.")
            raise PermissionDenied
        form = ClientWizardForm(request.POST or None)
        status = 200
        if request.method == "POST":
            if form.is_valid():
                try:
                    client = services.create_client(request.user, form.properties())
                except IAMError as exc:
                    if exc.status == 403:
                        record_console_refusal(request, request.user, None, exc.detail or exc.title)
                    for field, errors in (exc.errors or {}).items():
                        name = {"properties.redirectUris": "redirect_uris", "properties.scopes": "scopes",
                                "properties.name": "name"}.get(field)
                        form.add_error(name, errors)
                    if exc.detail and not exc.errors:
                        form.add_error(None, exc.detail)
                    status = 400
                else:
                    if client.client_type == "confidential":
                        return self._show_new_secrets(request, [client])
                    self.message_user(request, f"{client.name} was created: its client_id is {client.client_id} "
                                               "(a public client has no secret).", messages.SUCCESS)
                    return HttpResponseRedirect(reverse("admin:clients_client_change", args=[client.pk]))
            else:
                status = 400
        context = {**self.admin_site.each_context(request), "title": "New client", "form": form, "kinds": KINDS,
                   "opts": self.model._meta}
        return TemplateResponse(request, "admin/clients/wizard.html", context, status=status)

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.is_system:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.is_system:
            return False
        return super().has_delete_permission(request, obj)

    @staticmethod
    def _props(obj):
        return {"name": obj.name, "redirectUris": obj.redirect_uris.split(), "grantTypes": obj.grant_types,
                "scopes": obj.scopes, "clientType": obj.client_type, "firstParty": obj.skip_authorization}

    def save_model(self, request, obj, form, change):
        if change:
            saved = services.update_client(request.user, obj.pk, properties=self._props(obj))
            if "suspended" in form.changed_data:
                saved = services.set_client_suspended(request.user, obj.pk, obj.suspended)
        else:
            saved = services.create_client(request.user, self._props(obj))
        obj.pk, obj.version = saved.pk, saved.version

    def delete_model(self, request, obj):
        services.delete_client(request.user, obj.pk)

    def response_add(self, request, obj, post_url_continue=None):
        if obj.client_type == "confidential":
            return self._show_new_secrets(request, [obj])
        return super().response_add(request, obj, post_url_continue)

    @console_action("iam/clients:write", "Create a new secret for the selected clients (shown once)")
    def new_secret_selected(self, request, queryset):
        return self._show_new_secrets(request, list(queryset))

    def get_urls(self):
        from django.urls import path

        page = path("new-secrets/", self.admin_site.admin_view(self.new_secrets_view),
                    name="clients_client_new_secrets")
        wizard = path("wizard/", self.admin_site.admin_view(self.wizard_view), name="clients_client_wizard")
        return [page, wizard, *super().get_urls()]

    def _show_new_secrets(self, request, clients):
        """Make a secret for each client, then redirect to the page that shows them once: a refresh
        of that page, unlike one of this POST, mints nothing.

        The values cross the redirect encrypted: the session (a database row) keeps only Fernet
        ciphertext, whose key travels in the redirect URL alone, and the page pops the entry on its
        first display. No secret value is ever at rest, logged or audited."""
        import json
        import secrets as random

        from cryptography.fernet import Fernet
        from django.http import HttpResponseRedirect
        from django.urls import reverse
        from django.utils.http import urlencode

        from iam_project.errors import IAMError

        made = []
        for client in clients:
            try:
                _, value = services.create_secret(request.user, client.pk)
            except IAMError as exc:
                self.message_user(request, f"{client}: {exc.detail or exc.title}", messages.ERROR)
                continue
            made.append({"client": str(client.pk), "value": value})
        key, entry = Fernet.generate_key(), random.token_urlsafe(12)
        pending = request.session.get(NEW_SECRETS_SESSION_KEY, {})
        pending[entry] = Fernet(key).encrypt(json.dumps(made).encode()).decode()
        request.session[NEW_SECRETS_SESSION_KEY] = pending
        query = urlencode({"entry": entry, "key": key.decode()})
        return HttpResponseRedirect(f"{reverse('admin:clients_client_new_secrets')}?{query}")

    def new_secrets_view(self, request):
        """Show the secrets made by the POST that redirected here, once: the entry leaves the session
        as it is read, so a refresh, a second tab or the back button finds nothing to show."""
        import json

        from cryptography.fernet import Fernet, InvalidToken
        from django.utils.cache import add_never_cache_headers

        pending = request.session.get(NEW_SECRETS_SESSION_KEY, {})
        token = pending.pop(request.GET.get("entry", ""), None)
        if token is not None:
            request.session[NEW_SECRETS_SESSION_KEY] = pending  # saved without the entry
        try:
            rows = json.loads(Fernet(request.GET.get("key", "").encode()).decrypt(token)) if token else []
        except (InvalidToken, ValueError):
            rows = []
        clients = {str(pk): client for pk, client in self.model.objects.in_bulk([row["client"] for row in rows]).items()}
        made = [{"client": clients[row["client"]], "value": row["value"]} for row in rows if row["client"] in clients]
        context = {**self.admin_site.each_context(request), "title": "New client secrets", "made": made,
                   "opts": self.model._meta}
        response = TemplateResponse(request, "admin/clients/new_secret.html", context)
        add_never_cache_headers(response)  # no-store: the page must not be kept by any cache
        return response


class ClientSecretAdmin(HumanNamesMixin, ServiceAdminMixin, admin.ModelAdmin):
    list_display = ("prefix", "client", "created", "expires", "last_used", "created_by_name")
    identity_fields = ("created_by",)
    created = when_column("created_at", "created")
    expires = when_column("expires_at", "expires")
    last_used = when_column("last_used_at", "last used")
    created_by_name = identity_column("created_by", "created by")
    search_fields = ("prefix", "client__name", "client__client_id")
    readonly_fields = ("id", "client", "prefix", "created_at", "expires_at", "last_used_at", "created_by_name")
    fields = readonly_fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        # Revoking a secret is a change of its client, as DELETE …/clients/{id}/secrets/{id} is.
        return console_allows(request, "iam/clients:write")

    def delete_model(self, request, obj):
        services.revoke_secret(request.user, obj.client_id, obj.pk)


Client = get_application_model()
if admin.site.is_registered(Client):  # django-oauth-toolkit registers its own screen first
    admin.site.unregister(Client)
admin.site.register(Client, ClientAdmin)
admin.site.register(ClientSecret, ClientSecretAdmin)


class ApiKeyAdmin(HumanNamesMixin, ServiceAdminMixin, admin.ModelAdmin):
    """API keys: values are never shown (only made, by the API or ``createapikey``); lock, unlock,
    disable and enable go through the services."""

    list_display = ("name", "owner", "prefix", "locked", "disabled", "expires", "last_used", "created")
    identity_fields = ("iam_id",)
    owner = identity_column("iam_id", "owner")
    created_by_name = identity_column("created_by", "created by")
    expires = when_column("expires_at", "expires")
    last_used = when_column("last_used_at", "last used")
    created = when_column("created_at", "created")
    list_filter = ("locked", "disabled")
    search_fields = ("name", "=iam_id", "prefix")
    readonly_fields = ("id", "name", "description", "iam_id", "prefix", "locked", "disabled", "expires_at",
                       "last_used_at", "created_by_name", "created_at", "modified_at", "version")
    fields = readonly_fields
    actions = ("lock_selected", "unlock_selected", "disable_selected", "enable_selected")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def delete_model(self, request, obj):
        services.delete_api_key(request.user, obj.pk)

    def _flag(self, request, queryset, flag, value, done):
        self.act_on_each(request, queryset, lambda actor, pk: services.set_api_key_flag(actor, pk, flag, value), done)

    @console_action("iam/apikeys:write", "Lock the selected keys")
    def lock_selected(self, request, queryset):
        self._flag(request, queryset, "locked", True, "locked")

    @console_action("iam/apikeys:write", "Unlock the selected keys")
    def unlock_selected(self, request, queryset):
        self._flag(request, queryset, "locked", False, "unlocked")

    @console_action("iam/apikeys:write", "Disable the selected keys (no more tokens)")
    def disable_selected(self, request, queryset):
        self._flag(request, queryset, "disabled", True, "disabled")

    @console_action("iam/apikeys:write", "Enable the selected keys")
    def enable_selected(self, request, queryset):
        self._flag(request, queryset, "disabled", False, "enabled")


admin.site.register(ApiKey, ApiKeyAdmin)
