"""The self-service pages: each asks the engine what the API operation it mirrors asks, and writes
through the same service (principals, jit, clients/ibmcloud keys, principals.sessions)."""

import logging

from django.contrib import messages
from django.contrib.auth import get_user_model, update_session_auth_hash
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.http import urlencode
from django.views import View
from django.views.decorators.cache import never_cache

from clients import services as client_services
from clients.models import ApiKey
from ibmcloud import services as ibm_services
from iam_project.console import console_allows, record_console_refusal
from iam_project.errors import IAMError
from iam_project.stepup import StepUpRequired
from jit import services as jit_services
from jit.choices import RequestStatusChoices
from jit.models import AccessRequest
from principals import services as principal_services
from principals.sessions import services as session_services
from roles import explain
from roles.models import Role

from . import forms

logger = logging.getLogger(__name__)


def me(request):
    """The signed-in principal as a model instance (request.user is a lazy wrapper the services cannot lock)."""
    return get_user_model().objects.get(pk=request.user.pk)


def no_store(response):
    """Pages that may show a secret once (a new API key) are never cached."""
    response["Cache-Control"] = "no-store"
    return response


def refusal_message(request, exc):
    """A service's refusal as a message naming the fields, never a 500; a 403 is an access.denied event."""
    if exc.status == 403:
        record_console_refusal(request, request.user, None, exc.detail or exc.title)
    fields = " ".join(f"{name}: {' '.join(errors)}" for name, errors in (exc.errors or {}).items())
    messages.error(request, " ".join(filter(None, [exc.detail, fields])) or exc.title)


def step_up_redirect(request):
    return HttpResponseRedirect(f"{reverse('mfa-verify')}?{urlencode({'next': request.path})}")


@method_decorator(never_cache, name="dispatch")
class AccountView(LoginRequiredMixin, View):
    """Signed-in principals only (a session belongs to a principal); every POST goes through ``act``."""

    template_name = ""
    section = ""

    allow_pending_password = False  # as on the API: with a temporary password, only the password changes

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            if getattr(request.user, "identity_type", None) != "principal":
                raise Http404("Self-service is for principals.")
            if request.user.must_change_password and not self.allow_pending_password:
                messages.info(request, "Choose a new password first: yours is temporary.")
                return HttpResponseRedirect(reverse("account-password"))
        return super().dispatch(request, *args, **kwargs)

    def context(self, request, **extra):
        from django.contrib import admin

        # The console link only where the console shows this principal a screen (else it lands back here).
        console = bool(getattr(request.user, "is_staff", False)) and bool(admin.site.get_app_list(request))
        return {"principal": request.user, "section": self.section, "console": console,
                "approver": console_allows(request, "jit/requests:approve"), **extra}

    def page(self, request, status=200, **extra):
        return no_store(render(request, self.template_name, self.context(request, **extra), status=status))

    def get(self, request):
        return self.page(request)

    def post(self, request):
        try:
            response = self.act(request)
        except StepUpRequired:
            return step_up_redirect(request)
        except IAMError as exc:
            refusal_message(request, exc)
            response = None
        return response or HttpResponseRedirect(request.path)


class HomeView(AccountView):
    template_name = "account/home.html"
    section = "home"

    def context(self, request, **extra):
        return super().context(request, roles=_roles_of(request.user), **extra)


def _roles_of(principal):
    from roles.models import RoleBinding

    now = timezone.now()
    return [
        {"role": b.role, "scope": b.scope, "source": b.source, "expires_at": b.expires_at,
         "expired": b.expires_at is not None and b.expires_at <= now}
        for b in RoleBinding.objects.for_identity(principal).select_related("role").order_by("role__key", "scope")
    ]


class ProfileView(AccountView):
    """Name and email. Mirrors PATCH /resources/iam/principals/{id}: iam/principals:write on oneself."""

    template_name = "account/profile.html"
    section = "profile"

    def may_edit(self, request):
        return console_allows(request, "iam/principals:write", f"iam/principals/{request.user.pk}")

    def get(self, request, form=None, status=200):
        user = request.user
        form = form or forms.ProfileForm(initial={"name": user.properties.get("name", ""), "email": user.email})
        return self.page(request, status=status, form=form, may_edit=self.may_edit(request))

    def act(self, request):
        if not self.may_edit(request):
            record_console_refusal(request, request.user, "iam/principals:write", "Changing one's profile was refused.")
            messages.error(request, "Changing your profile needs the permission iam/principals:write on yourself; "
                                    "ask an administrator.")
            return None
        form = forms.ProfileForm(request.POST)
        if not form.is_valid():
            return self.get(request, form=form, status=400)
        name = form.cleaned_data["name"].strip()
        principal_services.update_principal(me(request), request.user.pk, email=form.cleaned_data["email"],
                                            properties={"name": name or None})
        messages.success(request, "Your profile was saved.")
        return None


class PasswordView(AccountView):
    """Mirrors POST /resources/me/password (no permission: the current password is the proof)."""

    template_name = "account/password.html"
    section = "password"
    allow_pending_password = True

    def get(self, request, form=None, status=200):
        return self.page(request, status=status, form=form or forms.PasswordForm())

    def act(self, request):
        form = forms.PasswordForm(request.POST)
        if not form.is_valid():
            return self.get(request, form=form, status=400)
        try:
            principal = principal_services.change_own_password(
                me(request), form.cleaned_data["current_password"], form.cleaned_data["new_password"])
        except IAMError as exc:
            if exc.status != 400:
                raise
            names = {"currentPassword": "current_password", "newPassword": "new_password"}
            for field, errors in (exc.errors or {}).items():
                for error in errors:
                    form.add_error(names.get(field), error)
            response = self.get(request, form=form, status=400)
            # A wrong current password is a failed credential: iam_project.ratelimit counts it per identity,
            # with the API's /resources/me/password, so a stolen session cannot guess the password here.
            response.iam_current_password_failed = "currentPassword" in (exc.errors or {})
            return response
        update_session_auth_hash(request, principal)  # this session stays; the others end
        messages.success(request, "Your password was changed. Your other sessions have ended.")
        return None


class AccessView(AccountView):
    """My roles and effective access. Mirrors GET /resources/me (no permission: one's own)."""

    template_name = "account/access.html"
    section = "access"

    def context(self, request, **extra):
        context = {"ip": getattr(request, "client_ip", None)}
        return super().context(request, roles=_roles_of(request.user),
                               sources=explain.effective_access(request.user, context), **extra)


def _eligible_choices(principal):
    """('role|scope', label) for every role the principal may request (standing eligibility only)."""
    seen, choices = set(), []
    for role, scope in jit_services.obtainable_roles(principal):
        value = f"{role.key}|{scope}"
        if value not in seen:
            seen.add(value)
            choices.append((value, f"{role.key}" + (f" on {scope}" if scope else "")))
    return sorted(choices)


class RequestsView(AccountView):
    """Request just-in-time access (POST /resources/jit/requests: no permission, the eligibility decides),
    my requests (view=mine) and cancelling one (POST .../cancel: the requester only)."""

    template_name = "account/requests.html"
    section = "requests"

    def get(self, request, form=None, status=200):
        choices = _eligible_choices(request.user)
        form = form or forms.AccessRequestForm(choices=choices)
        mine = (AccessRequest.objects.filter(requester_iam_id=request.user.iam_id).select_related("role")
                .order_by("-created_at")[:100])
        return self.page(request, status=status, form=form, eligible=bool(choices), requests=mine,
                         now=timezone.now(), pending=RequestStatusChoices.PENDING,
                         active=RequestStatusChoices.ACTIVE)

    def act(self, request):
        if request.POST.get("action") == "cancel":
            pk = _uuid(request.POST.get("request"))
            if pk is None:
                messages.error(request, "request: not a request id.")
                return None
            jit_services.cancel(me(request), pk)
            messages.success(request, "The request was cancelled.")
            return None
        form = forms.AccessRequestForm(request.POST, choices=_eligible_choices(request.user))
        if not form.is_valid():
            return self.get(request, form=form, status=400)
        key, _, scope = form.cleaned_data["role"].partition("|")
        role = Role.objects.get(key=key)
        access_request = jit_services.request_access(me(request), role, form.cleaned_data["duration"],
                                                     justification=form.cleaned_data["justification"], scope=scope)
        if access_request.status == RequestStatusChoices.ACTIVE:
            messages.success(request, f"{role.key} is active now.")
        else:
            messages.success(request, f"Your request for {role.key} awaits approval.")
        return None


def _uuid(value):
    import uuid

    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


class ApiKeysView(AccountView):
    """My API keys: list (GET /v1/apikeys, one's own: no permission), create (POST /v1/apikeys for
    oneself: the account's restriction and step-up apply; the value is shown once), delete."""

    template_name = "account/apikeys.html"
    section = "apikeys"

    def get(self, request, form=None, status=200, created=None):
        keys = ApiKey.objects.filter(iam_id=request.user.iam_id).order_by("-created_at")[:200]
        return self.page(request, status=status, form=form or forms.ApiKeyForm(), keys=keys, created=created)

    def act(self, request):
        if request.POST.get("action") == "delete":
            pk = _uuid(request.POST.get("key"))
            key = ApiKey.objects.filter(pk=pk, iam_id=request.user.iam_id).first() if pk else None
            if key is None:  # only one's own keys are named here: another's is simply not found
                messages.error(request, "key: no such API key of yours.")
                return None
            client_services.delete_api_key(me(request), key.pk)
            messages.success(request, f"The API key {key.name} was deleted.")
            return None
        form = forms.ApiKeyForm(request.POST)
        if not form.is_valid():
            return self.get(request, form=form, status=400)
        user = me(request)
        key, value = ibm_services.create_api_key(user, user, form.cleaned_data["name"],
                                                 form.cleaned_data["description"])
        logger.info("portal.apikey_created iam_id=%s key=%s", user.iam_id, key.pk)
        return self.get(request, created={"key": key, "value": value})


class SessionsView(AccountView):
    """My sign-in sessions and OAuth grants (GET /resources/me/sessions) and revoking one
    (DELETE /resources/me/sessions/{id}); the current session is not offered (sign out instead)."""

    template_name = "account/sessions.html"
    section = "sessions"

    def context(self, request, **extra):
        entries = session_services.list_sessions(me(request), current_session_key=request.session.session_key)
        return super().context(request, entries=entries, **extra)

    def act(self, request):
        session_services.revoke_session(me(request), request.user.pk, request.POST.get("session", ""),
                                        request.session.session_key, None)
        messages.success(request, "The session was revoked: it stops working at its next request.")
        return None
