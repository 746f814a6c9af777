"""Passkeys and security keys: django-otp-webauthn's ceremonies, fitted to the platform's sign-in.

The library's views and browser script do the WebAuthn work (py_webauthn checks every signature, the
challenge, the origin and the relying party). These subclasses decide *who* the ceremony is for — the
signed-in principal (adding a passkey, or stepping up), the principal of a pending sign-in (its second
factor, or its enrolment), or nobody yet (a passwordless sign-in, which requires user verification) —
and complete the sign-in, the step-up, the audit and the lock-out count the platform's way.
"""

import logging

from django.conf import settings
from django.db import transaction
from django.http import JsonResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django_otp_webauthn import exceptions as webauthn_errors
from django_otp_webauthn import views as webauthn_views
from django_otp_webauthn.helpers import WebAuthnHelper
from django_otp_webauthn.models import WebAuthnCredential
from django_otp_webauthn.utils import rewrite_exceptions

import audit
from iam_project.stepup import from_session, is_recent_multi_factor

from . import services, signin
from .lockout import count_failure, is_locked

logger = logging.getLogger(__name__)


class StepUpNeeded(webauthn_errors.OTPWebAuthnApiError):
    status_code = 403
    default_detail = "Verify one of your second factors again before adding a passkey."
    default_code = "step_up_required"


def relying_party_id(request):
    """The relying party ID: ``IAM_WEBAUTHN_RP_ID``, else the host name the browser asked for."""
    configured = getattr(settings, "IAM_WEBAUTHN_RP_ID", "")
    if configured:
        return configured
    host = request.get_host()
    return host.rsplit(":", 1)[0] if not host.endswith("]") else host


class PasskeyHelper(WebAuthnHelper):
    """The relying party is this site: ``IAM_WEBAUTHN_RP_ID`` / ``IAM_WEBAUTHN_ORIGINS`` when set, else
    the host the browser asked for (ALLOWED_HOSTS has vetted it) and its origin."""

    def get_relying_party_domain(self):
        return relying_party_id(self.request)

    def get_relying_party_name(self):
        return getattr(settings, "IAM_WEBAUTHN_RP_NAME", "") or "Portcullis"

    def get_allowed_origins(self):
        configured = getattr(settings, "IAM_WEBAUTHN_ORIGINS", None)
        if configured:
            return list(configured)
        return [f"{self.request.scheme}://{self.request.get_host()}"]

    def create_credential(self, user, response, parsed_credential, original_data):
        device = super().create_credential(user, response, parsed_credential, original_data)
        count = WebAuthnCredential.objects.filter(user=user).count()
        device.name = f"Passkey {count + 1}"
        return device


def _signed_in(request):
    """The signed-in principal as a model instance (request.user is a lazy wrapper the audit cannot name),
    keeping what django-otp's middleware set on it (is_verified)."""
    from django.contrib.auth import get_user_model

    if not hasattr(request, "_mfa_principal"):
        principal = get_user_model().objects.get(pk=request.user.pk)
        principal.is_verified = request.user.is_verified
        principal.otp_device = getattr(request.user, "otp_device", None)
        request._mfa_principal = principal
    return request._mfa_principal


def _pending_subject(request, enrolling=False):
    principal, state = signin.pending(request)
    if principal is None or (enrolling and not state.get("enrol")):
        return None, None
    principal.is_verified = lambda: False  # the library asks; nobody is signed in yet
    return principal, state


class RegistrationMixin:
    """Registering a passkey: the signed-in principal's own (a recent second factor first, when it has
    one), or the pending principal's during an enrolment the policy requires."""

    def get_user(self):
        if self.request.user.is_authenticated:
            return _signed_in(self.request)
        principal, _ = _pending_subject(self.request, enrolling=True)
        return principal

    def check_can_register(self):
        user = self.get_user()
        if self.request.user.is_authenticated and services.factors(user) and \
                not is_recent_multi_factor(from_session(self.request.session)):
            raise StepUpNeeded()


class BeginRegistrationView(RegistrationMixin, webauthn_views.BeginCredentialRegistrationView):
    pass


class CompleteRegistrationView(RegistrationMixin, webauthn_views.CompleteCredentialRegistrationView):
    def post(self, *args, **kwargs):
        user = self.get_user()
        state = self.get_state()
        helper = self.get_helper()
        with rewrite_exceptions(logger=logging.getLogger("django_otp_webauthn")), transaction.atomic():
            device = helper.register_complete(user=user, state=state, data=self.request.data)
            audit.record("mfa.enrolled", device.user, actor=user.iam_id, actor_type="principal",
                         details={"factor": "passkey", "factorId": f"passkey-{device.pk}", "name": device.name,
                                  "discoverable": device.discoverable})
        logger.info("mfa.enrolled iam_id=%s factor=passkey id=%s", user.iam_id, device.pk)
        if not self.request.user.is_authenticated:
            pending = self.request.session.get(signin.PENDING_KEY)
            pending["enrolled"] = f"passkey-{device.pk}"
            self.request.session[signin.PENDING_KEY] = pending
        return JsonResponse({"id": f"passkey-{device.pk}", "name": device.name})


class AuthenticationMixin:
    """Verifying with a passkey: the signed-in principal (step-up), the pending sign-in's principal (its
    second factor), or — nobody yet — a passwordless sign-in."""

    def get_user(self):
        if self.request.user.is_authenticated:
            return _signed_in(self.request)
        principal, _ = _pending_subject(self.request)
        return principal


class BeginAuthenticationView(AuthenticationMixin, webauthn_views.BeginCredentialAuthenticationView):
    pass


class CompleteAuthenticationView(AuthenticationMixin, webauthn_views.CompleteCredentialAuthenticationView):
    def handle_exception(self, exc):
        if isinstance(exc, webauthn_errors.OTPWebAuthnApiError) and not isinstance(exc, webauthn_errors.InvalidState):
            subject = self.get_user() if hasattr(self, "request") else None
            if subject is not None:
                services.record_failed(subject, "passkey", reason=getattr(exc, "code", "error"))
                count_failure(self.request, subject)
        return super().handle_exception(exc)

    def next_url(self, default):
        target = self.request.GET.get("next")
        if target and url_has_allowed_host_and_scheme(target, {self.request.get_host()},
                                                      require_https=self.request.is_secure()):
            return target
        return default

    def post(self, *args, **kwargs):
        user = self.get_user()
        if user is not None and not self.request.user.is_authenticated and is_locked(self.request, user):
            signin.drop(self.request)
            raise webauthn_errors.UserDisabled("Too many failed sign-in attempts; try again later.")
        state = self.get_state()
        helper = self.get_helper()
        with rewrite_exceptions(logger=logging.getLogger("django_otp_webauthn")):
            device = helper.authenticate_complete(user=user, state=state, data=self.request.data)
        self.check_device_usable(device)
        amr = services.amr_for("passkey", device)
        if self.request.user.is_authenticated:  # step-up
            signin.step_up(self.request, amr, device)
            services.record_verified(device.user, "passkey", device, "step-up")
            return JsonResponse({"id": f"passkey-{device.pk}", "redirect_url": self.next_url(reverse("mfa-manage"))})
        principal, pending = signin.pending(self.request)
        if principal is not None and principal.pk == device.user_id:  # the second factor of a sign-in
            services.record_verified(principal, "passkey", device, "sign-in")
            target = signin.complete(self.request, principal, pending, ["pwd", *amr], device)
            return JsonResponse({"id": f"passkey-{device.pk}", "redirect_url": target})
        # A passwordless sign-in: the authenticator verified its user (required when nobody is named).
        principal = device.user
        services.record_verified(principal, "passkey", device, "passwordless")
        state = {"next": self.next_url(settings.LOGIN_REDIRECT_URL and reverse(settings.LOGIN_REDIRECT_URL)),
                 "backend": "principals.backends.PrincipalBackend"}
        target = signin.complete(self.request, principal, state, amr, device)
        return JsonResponse({"id": f"passkey-{device.pk}", "redirect_url": target})
