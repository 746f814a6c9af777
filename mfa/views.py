"""The second-factor pages: verify (at sign-in and step-up), enrol (at sign-in, where required), and the
self-service page where a principal manages its authenticator apps, passkeys and recovery codes."""

import logging

import segno
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views import View
from django.views.decorators.cache import never_cache

from iam_project.errors import IAMError
from iam_project.lockout import lockout_response
from iam_project.stepup import StepUpRequired

from . import services, signin
from .lockout import count_failure, credentials_of, is_locked

logger = logging.getLogger(__name__)


def me(request):
    """The signed-in principal as a model instance (request.user is a lazy wrapper the audit cannot name)."""
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(pk=request.user.pk)


def safe_next(request, default=""):
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        return target
    return default


def no_store(response):
    """Pages that show a secret once (a TOTP key, recovery codes) are never cached."""
    response["Cache-Control"] = "no-store"
    return response


def totp_setup_context(device):
    uri = device.config_url
    return {"device": device, "otpauth_uri": uri, "secret": uri.split("secret=", 1)[1].split("&", 1)[0],
            "qr": segno.make(uri, error="m").svg_data_uri(scale=4, border=2)}


@method_decorator(never_cache, name="dispatch")
class VerifyView(View):
    """Enter a second factor: a pending sign-in's (then signed in), or a signed-in principal stepping up
    before a privileged action (then back to it)."""

    template_name = "mfa/verify.html"

    def subject(self, request):
        """A pending sign-in first (someone signing in over an open session finishes their own sign-in),
        else the signed-in principal stepping up."""
        principal, pending = signin.pending(request)
        if principal is not None:
            return principal, pending
        if request.user.is_authenticated:
            return me(request), None
        return None, None

    def render_page(self, request, principal, pending, error=None, status=200):
        need = services.requirement(principal)
        kinds = {f.kind for f in services.factors(principal)}
        return render(request, self.template_name, {
            "principal": principal, "step_up": pending is None, "error": error, "next": safe_next(request),
            "has_passkey": "passkey" in kinds, "has_code": bool(kinds & {"totp", "recovery"}),
            "passkey_only": need.passkey_only and pending is not None,
        }, status=status)

    def get(self, request):
        principal, pending = self.subject(request)
        if principal is None:
            return redirect(reverse("login"))
        return self.render_page(request, principal, pending)

    def post(self, request):
        principal, pending = self.subject(request)
        if principal is None:
            return redirect(reverse("login"))
        if is_locked(request, principal):
            signin.drop(request)
            return lockout_response(request, credentials=credentials_of(principal))
        passkey_only = bool(pending and pending.get("passkeyOnly"))
        kind, device = services.verify_code(principal, request.POST.get("code", ""), passkey_only=passkey_only)
        purpose = "step-up" if pending is None else "sign-in"
        if kind is None:
            services.record_failed(principal, purpose)
            count_failure(request, principal)
            return self.render_page(request, principal, pending, error="That code is not correct.", status=400)
        services.record_verified(principal, kind, device, purpose)
        amr = services.amr_for(kind, device)
        if pending is None:
            signin.step_up(request, amr, device)
            return HttpResponseRedirect(safe_next(request, reverse("mfa-manage")))
        return HttpResponseRedirect(signin.complete(request, principal, pending, ["pwd", *amr], device))


@method_decorator(never_cache, name="dispatch")
class EnrolView(View):
    """At sign-in, where the policy requires a second factor and the principal has none: add one (an
    authenticator app, or a passkey), receive recovery codes, and only then be signed in."""

    def dispatch(self, request, *args, **kwargs):
        self.principal, self.pending = signin.pending(request)
        if self.principal is None or not self.pending.get("enrol"):
            return redirect(reverse("login"))
        return super().dispatch(request, *args, **kwargs)

    def page(self, request, device=None, error=None, status=200):
        context = {"principal": self.principal, "error": error, "next": safe_next(request),
                   "passkey_only": self.pending.get("passkeyOnly"), "reason": services.requirement(self.principal).reason}
        if device is not None and not self.pending.get("passkeyOnly"):
            context.update(totp_setup_context(device))
        return no_store(render(request, "mfa/enrol.html", context, status=status))

    def get(self, request):
        if self.pending.get("enrolled"):
            return self.finish(request, self.pending["enrolled"])
        device = None if self.pending.get("passkeyOnly") else services.begin_totp(self.principal, self.principal)
        return self.page(request, device)

    def post(self, request):
        from django_otp.plugins.otp_totp.models import TOTPDevice

        device = TOTPDevice.objects.filter(user=self.principal, confirmed=False).order_by("-pk").first()
        if device is None or self.pending.get("passkeyOnly"):
            return redirect(request.get_full_path())
        try:
            device = services.confirm_totp(self.principal, self.principal, device.pk, request.POST.get("code", ""))
        except IAMError as exc:
            services.record_failed(self.principal, "enrolment")
            count_failure(request, self.principal)
            return self.page(request, device, error=" ".join(sum(exc.errors.values(), [])) or exc.detail, status=400)
        return self.finish(request, f"totp-{device.pk}", device)

    def finish(self, request, factor_id, device=None):
        """Signed in with the factor just added; its recovery codes shown once."""
        kind, _ = services.parse_factor_id(factor_id)
        if device is None:
            from django_otp_webauthn.models import WebAuthnCredential

            device = WebAuthnCredential.objects.filter(pk=factor_id.split("-", 1)[1], user=self.principal).first()
            if device is None:
                return redirect(request.get_full_path())
        codes = services.new_recovery_codes(self.principal, self.principal)
        target = signin.complete(request, self.principal, self.pending, ["pwd", *services.amr_for(kind, device)], device)
        return no_store(render(request, "mfa/recovery_codes.html", {"codes": codes, "next": target}))


@method_decorator(never_cache, name="dispatch")
class ManageView(LoginRequiredMixin, View):
    """One's own second factors: add an authenticator app or a passkey, make recovery codes, rename or
    remove a factor. A change that needs a recent second factor sends the principal to verify one first."""

    def get(self, request, **extra):
        state = services.status(request.user)
        return no_store(render(request, "mfa/manage.html", {"state": state, "principal": request.user, **extra}))

    def post(self, request):
        action = request.POST.get("action", "")
        user = me(request)
        try:
            if action == "totp-begin":
                device = services.begin_totp(user, user, request.POST.get("name") or "Authenticator app")
                return no_store(render(request, "mfa/totp_setup.html", totp_setup_context(device)))
            if action == "totp-confirm":
                device_pk = request.POST.get("device", "")
                if not device_pk.isdigit():
                    return redirect(reverse("mfa-manage"))
                try:
                    services.confirm_totp(user, user, int(device_pk), request.POST.get("code", ""))
                except IAMError as exc:
                    if exc.status != 400:
                        raise
                    from django_otp.plugins.otp_totp.models import TOTPDevice

                    device = TOTPDevice.objects.filter(pk=int(device_pk), user=user, confirmed=False).first()
                    if device is None:
                        return redirect(reverse("mfa-manage"))
                    return no_store(render(request, "mfa/totp_setup.html",
                                           {**totp_setup_context(device), "error": "That code is not correct."},
                                           status=400))
                if not any(f.kind == "recovery" for f in services.factors(user)):
                    signin.step_up(request, ["otp", "mfa"])  # the app's code was just verified
                    codes = services.new_recovery_codes(user, user)
                    return no_store(render(request, "mfa/recovery_codes.html",
                                           {"codes": codes, "next": reverse("mfa-manage")}))
                return redirect(reverse("mfa-manage"))
            if action == "recovery":
                codes = services.new_recovery_codes(user, user)
                return no_store(render(request, "mfa/recovery_codes.html", {"codes": codes, "next": reverse("mfa-manage")}))
            if action == "rename":
                services.rename_factor(user, user, request.POST.get("factor", ""), request.POST.get("name", ""))
                return redirect(reverse("mfa-manage"))
            if action == "remove":
                services.remove_factor(user, user, request.POST.get("factor", ""))
                return redirect(reverse("mfa-manage"))
        except StepUpRequired:
            return redirect(f"{reverse('mfa-verify')}?{urlencode({'next': reverse('mfa-manage')})}")
        except IAMError as exc:
            fields = " ".join(sum((list(v) for v in exc.errors.values()), []))
            return self.get(request, error=" ".join(filter(None, [exc.detail, fields])))
        return redirect(reverse("mfa-manage"))
