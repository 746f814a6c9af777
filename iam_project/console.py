"""The web console: Django's admin, entered with the console permission of the roles."""

from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import PasswordChangeForm

from .access import decide
from .conf import iam_settings


def record_console_refusal(request, identity, permission, reason, once=True):
    """A console refusal is an ``access.denied`` event like the API's. ``once``: a page refused by
    both the entry check and the screen's own check is one refusal, not two."""
    from .hooks import emit_access_denied

    if request is None or identity is None or not getattr(identity, "is_authenticated", False):
        return
    if once and getattr(request, "_console_refusal_recorded", False):
        return
    request._console_refusal_recorded = True
    from .context import get_context, set_actor
    from .identity import identity_actor

    if get_context().actor != identity.iam_id:  # the sign-in form: known, but not signed in
        set_actor(*identity_actor(identity))
    emit_access_denied(request, identity, permission, reason=reason)


class ConsoleAuthenticationForm(AdminAuthenticationForm):
    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "invalid_login": "Please enter a correct email and password.",
        "inactive": "This account is suspended.",
    }

    def confirm_login_allowed(self, user):
        if not user.is_active:
            raise self.get_invalid_login_error()
        if not user.is_staff:  # is_staff asks the engine for the console permission
            record_console_refusal(self.request, user, iam_settings.CONSOLE_PERMISSION,
                                   "The console permission is required to sign in to the console.")
            raise self.get_invalid_login_error()


def _console_login_view():
    from django.contrib.auth.views import LoginView

    class ConsoleLoginView(LoginView):
        def form_valid(self, form):
            from .signin import second_step

            return (second_step(self.request, form.get_user(), self.get_success_url(), face="console")
                    or super().form_valid(form))

    return ConsoleLoginView


class _LazyLoginView:
    """Django's LoginView imports the user model: made on first use, not when this module loads."""

    view = None

    def as_view(self, **kwargs):
        if self.view is None:
            self.view = _console_login_view()
        return self.view.as_view(**kwargs)


ConsoleLoginView = _LazyLoginView()


# The console's navigation, grouped by task: (group, [model label or named link]). A model not listed
# goes under Settings, so a newly registered screen is never lost.
NAVIGATION = (
    ("People", ["principals.principal", "ibmcloud.trustedprofile"]),
    ("Applications", ["clients.client", "clients.clientsecret", "clients.apikey",
                      "oauth2_provider.accesstoken", "oauth2_provider.refreshtoken",
                      "oauth2_provider.idtoken", "oauth2_provider.grant"]),
    ("Access", ["roles.role", "roles.rolebinding", "ibmcloud.policy",
                ("Check access", "console-access-check", "iam/authorize:read"),
                ("Who can…?", "console-access-holders", "iam/authorize:read")]),
    ("Just-in-time", ["jit.accessrequest", "jit.eligibility"]),
    ("Audit", ["audit.auditevent", "audit.chainhead"]),
    ("Settings", ["ibmcloud.accountsettings", "otp_totp.totpdevice", "otp_static.staticdevice", "auth.group"]),
)


class ConsoleSite(admin.AdminSite):
    site_header = "Portcullis"
    site_title = "Portcullis console"
    index_title = "Identity and access"  # the dashboard's heading
    index_template = "admin/index.html"
    login_form = ConsoleAuthenticationForm
    # The principals app puts its own form here (through its service) from its admin module.
    password_change_form = PasswordChangeForm
    enable_nav_sidebar = True

    def login(self, request, extra_context=None):
        """Django's sign-in page, except that a correct password hands over to the second step (a
        second factor, or enrolment where one is required) before anyone is signed in."""
        from django.contrib.auth import REDIRECT_FIELD_NAME
        from django.http import HttpResponseRedirect
        from django.urls import reverse

        if request.method == "GET" and self.has_permission(request):
            return HttpResponseRedirect(reverse("admin:index", current_app=self.name))
        context = {
            **self.each_context(request),
            "title": "Log in",
            "subtitle": None,
            "app_path": request.get_full_path(),
            "username": request.user.get_username(),
        }
        if REDIRECT_FIELD_NAME not in request.GET and REDIRECT_FIELD_NAME not in request.POST:
            context[REDIRECT_FIELD_NAME] = reverse("admin:index", current_app=self.name)
        context.update(extra_context or {})
        request.current_app = self.name
        return ConsoleLoginView.as_view(extra_context=context, authentication_form=self.login_form,
                                        template_name=self.login_template or "admin/login.html")(request)

    def password_change(self, request, extra_context=None):
        """Django's view with ``password_change_form``, so the change goes through the principals service."""
        from django.contrib.auth.views import PasswordChangeView
        from django.urls import reverse

        defaults = {
            "form_class": self.password_change_form,
            "success_url": reverse("admin:password_change_done", current_app=self.name),
            "extra_context": {**self.each_context(request), **(extra_context or {})},
        }
        if self.password_change_template is not None:
            defaults["template_name"] = self.password_change_template
        request.current_app = self.name
        return PasswordChangeView.as_view(**defaults)(request)

    def get_app_list(self, request, app_label=None):
        """The navigation by task (``NAVIGATION``) rather than by Django app; an app's own page keeps
        Django's list of that app. Each group holds only what the viewer may open."""
        if app_label is not None:
            return super().get_app_list(request, app_label)
        from django.urls import reverse

        models = {}
        for app in self._build_app_dict(request).values():
            for model in app["models"]:
                models[f"{app['app_label']}.{model['object_name'].lower()}"] = model
        groups, placed = [], set()
        for title, entries in NAVIGATION:
            rows = []
            for entry in entries:
                if isinstance(entry, tuple):
                    name, route, permission = entry
                    if console_allows(request, permission):
                        rows.append({"name": name, "object_name": route, "admin_url": reverse(route),
                                     "add_url": None, "view_only": True, "perms": {"view": True}})
                elif entry in models:
                    rows.append(models[entry])
                    placed.add(entry)
            if title == "Settings":
                rows += [model for label, model in models.items() if label not in placed]
            if rows:
                slug = title.lower().replace("-", "").replace(" ", "")
                groups.append({"name": title, "app_label": slug, "app_url": rows[0]["admin_url"],
                               "has_module_perms": True, "models": rows})
        return groups

    def index(self, request, extra_context=None):
        """The dashboard: the panels come from the dotted path in ``IAM_CONSOLE_DASHBOARD`` (the console
        app reads across every app, which this plumbing may not import). A principal whose roles show it no
        screen (system:portal:full alone) lands on its self-service pages instead."""
        from django.conf import settings
        from django.http import HttpResponseRedirect
        from django.urls import reverse
        from django.utils.module_loading import import_string

        if not self.get_app_list(request):
            return HttpResponseRedirect(reverse("account-home"))

        dotted = getattr(settings, "IAM_CONSOLE_DASHBOARD", None)
        extra = {"dashboard": import_string(dotted)(request)} if dotted else {}
        return super().index(request, {**extra, **(extra_context or {})})

    def has_permission(self, request):
        user = request.user
        if not getattr(user, "is_active", False) or not getattr(user, "is_authenticated", False):
            return False
        context = {"ip": getattr(request, "client_ip", None)}
        return decide(user, iam_settings.CONSOLE_PERMISSION, context=context).allowed

    def admin_view(self, view, cacheable=False):
        """Django's guard, plus an ``access.denied`` event whenever a signed-in principal is turned
        away: without the console permission, or from a screen or action its roles do not allow."""
        from functools import update_wrapper

        from django.core.exceptions import PermissionDenied
        from django.urls import reverse

        guarded = super().admin_view(view, cacheable)

        def inner(request, *args, **kwargs):
            user = request.user
            leaving = request.path == reverse("admin:logout", current_app=self.name)
            if getattr(user, "is_authenticated", False) and not leaving and not self.has_permission(request):
                record_console_refusal(request, user, iam_settings.CONSOLE_PERMISSION,
                                       "The console permission is required.")
            try:
                return guarded(request, *args, **kwargs)
            except PermissionDenied:
                match = getattr(request, "resolver_match", None)
                screen = getattr(match, "url_name", None) or request.path
                record_console_refusal(request, user, None, f"The console refused {screen} ({request.method}).")
                raise

        return update_wrapper(inner, guarded)


def console_context(request):
    """What the engine's conditions look at for a console request (a session: no token scopes)."""
    return {"ip": getattr(request, "client_ip", None)}


def console_allows(request, permission, resource=None):
    """The engine's answer for the console's signed-in principal."""
    return decide(request.user, permission, resource=resource, context=console_context(request)).allowed


def console_action(permission, description):
    """A bulk action of the console, offered only to those the engine allows ``permission`` — the
    permission of the API operation it mirrors. An action without one is never offered."""

    def wrap(func):
        func = admin.action(description=description)(func)
        func.iam_permission = permission
        return func

    return wrap


def audit_history_redirect(object_id):
    from urllib.parse import urlencode

    from django.http import HttpResponseRedirect
    from django.urls import reverse

    return HttpResponseRedirect(f"{reverse('admin:audit_auditevent_changelist')}?{urlencode({'target_id': object_id})}")


def email_formfield_overrides():
    """``formfield_overrides`` for screens with an email: the console refuses what the API refuses (RFC 5321)."""
    from django.db import models

    from .validators import validate_email_address

    return {models.EmailField: {"validators": [validate_email_address]}}


class ServiceAdminMixin:
    """Console screens save through the services; a refused operation is shown, never a 500."""

    view_on_site = False  # the platform's objects have no public page

    def _refused(self, request, exc):
        from django.contrib import messages
        from django.http import HttpResponseRedirect

        from .stepup import StepUpRequired

        if isinstance(exc, StepUpRequired):
            raise exc  # to verify a second factor first (iam_project.stepup.StepUpRedirectMiddleware)
        fields = "; ".join(f"{k}: {' '.join(v)}" for k, v in (exc.errors or {}).items())
        if exc.status == 403:  # a least-privilege refusal, recorded as on the API
            record_console_refusal(request, request.user, None, exc.detail or exc.title)
        self.message_user(request, " ".join(filter(None, [exc.detail, fields])), messages.ERROR)
        return HttpResponseRedirect(request.get_full_path())

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        from .errors import IAMError

        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except IAMError as exc:
            return self._refused(request, exc)

    def delete_view(self, request, object_id, extra_context=None):
        from .errors import IAMError

        try:
            return super().delete_view(request, object_id, extra_context)
        except IAMError as exc:
            return self._refused(request, exc)

    def history_view(self, request, object_id, extra_context=None):
        """The "History" button of every screen opens the object's audit trail."""
        return audit_history_redirect(object_id)

    def act_on_each(self, request, objects, operation, done):
        """Run ``operation(actor, pk)`` for each selected object; refusals become messages."""
        from django.contrib import messages

        from .errors import IAMError
        from .stepup import StepUpRequired

        count = 0
        for obj in objects:
            try:
                operation(request.user, obj.pk)
                count += 1
            except StepUpRequired:
                raise  # to verify a second factor first (iam_project.stepup.StepUpRedirectMiddleware)
            except IAMError as exc:
                if exc.status == 403:
                    record_console_refusal(request, request.user, None, f"{obj}: {exc.detail or exc.title}",
                                           once=False)
                self.message_user(request, f"{obj}: {exc.detail or exc.title}", messages.ERROR)
        if count:
            self.message_user(request, f"{count} {self.model._meta.verbose_name_plural} {done}.", messages.SUCCESS)

    def get_actions(self, request):
        """Only the actions whose declared permission the engine grants (see ``console_action``); the
        admin re-reads this list when an action is posted, so an action not offered cannot run."""
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # bulk deletes would bypass the services' rules
        return {
            name: entry for name, entry in actions.items()
            if getattr(entry[0], "iam_permission", None) and console_allows(request, entry[0].iam_permission)
        }


class ReadOnlyAdminMixin:
    """Screens that only show: nothing is added, changed or deleted from them."""

    view_on_site = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class HumanNamesMixin:
    """Changelists show identities by name: the iam ids of a page's rows are looked up once (two
    queries for the page), and ``identity_column`` cells read the result; elsewhere a cell looks up its
    own id."""

    identity_fields = ()  # attributes holding iam ids

    def changelist_view(self, request, extra_context=None):
        from .consoleformat import identity_names

        response = super().changelist_view(request, extra_context)
        changelist = (getattr(response, "context_data", None) or {}).get("cl")
        if changelist is not None and self.identity_fields:
            rows = list(changelist.result_list)  # evaluates the page once; the template reuses it
            names = identity_names(getattr(row, field, "") for row in rows for field in self.identity_fields)
            for row in rows:
                row._identity_names = names
        return response


def identity_column(field, description, ordering=None):
    """A display column: the iam id in ``field`` as the identity's name or email, linked, id on hover."""

    def column(self, obj):
        from .consoleformat import identity_link

        return identity_link(getattr(obj, field, ""), getattr(obj, "_identity_names", None))

    return admin.display(description=description, ordering=ordering or field)(column)


def when_column(field, description, ordering=None):
    """A display column: a time as "3 h ago" / "in 42 min", the absolute time on hover."""

    def column(self, obj):
        from .templatetags.console_format import ago

        return ago(getattr(obj, field, None))

    return admin.display(description=description, ordering=ordering or field)(column)


def duration_column(field, description):
    """A display column: a duration as "1 h 30 min"."""

    def column(self, obj):
        from .consoleformat import human_duration

        value = getattr(obj, field, None)
        return human_duration(value() if callable(value) else value)

    return admin.display(description=description)(column)
