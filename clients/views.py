"""The OAuth server's pages and endpoints that need more than django-oauth-toolkit gives:
sign-in, forced password change, consent page context, and introspection that knows suspension."""

import calendar

from django.contrib.auth import views as auth_views
from django.http import JsonResponse
from django.urls import reverse_lazy
from oauth2_provider import views as oauth_views
from oauth2_provider.models import get_access_token_model
from oauth2_provider.settings import oauth2_settings

from iam_project.console import ConsolePasswordChangeForm
from roles import engine


class LoginView(auth_views.LoginView):
    """Sign-in for the authorization endpoint: Django's authentication, for any active principal."""

    template_name = "oauth/login.html"
    redirect_authenticated_user = False


class PasswordChangeView(auth_views.PasswordChangeView):
    """A principal holding a temporary password chooses a new one before authorizing anything."""

    template_name = "oauth/password_change.html"
    form_class = ConsolePasswordChangeForm
    success_url = reverse_lazy("oauth2_provider:authorize")

    def get_success_url(self):
        from django.utils.http import url_has_allowed_host_and_scheme

        target = self.request.POST.get("next") or self.request.GET.get("next")
        if target and url_has_allowed_host_and_scheme(target, {self.request.get_host()},
                                                      require_https=self.request.is_secure()):
            return target
        return "/"

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "next": self.request.GET.get("next", "")}


class AuthorizationView(oauth_views.AuthorizationView):
    """DOT's authorization endpoint; a principal with a temporary password changes it first."""

    def dispatch(self, request, *args, **kwargs):
        user = getattr(request, "user", None)
        if getattr(user, "must_change_password", False):
            from django.shortcuts import redirect
            from django.utils.http import urlencode

            return redirect(f"{reverse_lazy('oauth-password-change')}?{urlencode({'next': request.get_full_path()})}")
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["scope_pairs"] = list(zip(context.get("scopes", []), context.get("scopes_descriptions", [])))
        return context


class IntrospectTokenView(oauth_views.IntrospectTokenView):
    """RFC 7662, for resource servers authenticating as clients: ``active`` is false the moment the
    token is revoked or expired, its principal suspended, or its client suspended or deleted."""

    @staticmethod
    def get_token_response(token_value=None):
        if token_value is None:
            return JsonResponse({"error": "invalid_request", "error_description": "The token parameter is missing."},
                                status=400)
        import hashlib

        checksum = hashlib.sha256(token_value.encode("utf-8")).hexdigest()
        token = (get_access_token_model().objects.select_related("user", "application")
                 .filter(token_checksum=checksum).first())
        if token is None or not token.is_valid():
            return JsonResponse({"active": False})
        identity = token.user or token.application
        if identity is None or not identity.is_active or (token.application and not token.application.is_active):
            return JsonResponse({"active": False})
        data = {
            "active": True,
            "scope": token.scope,
            "client_id": token.application.client_id if token.application else None,
            "token_type": "Bearer",
            "exp": int(calendar.timegm(token.expires.utctimetuple())),
            "iat": int(calendar.timegm(token.created.utctimetuple())),
            "sub": str(identity.pk) if token.user else str(token.application.client_id),
            "iam_id": identity.iam_id,
            "iss": oauth2_settings.OIDC_ISS_ENDPOINT or None,
        }
        if token.user:
            data["username"] = token.user.email
        # What the token can do now (scopes ∩ current permissions): a just-in-time grant that has
        # ended, or a role removed, disappears from here at once.
        data["permissions"] = engine.token_permissions(identity, token.scope.split())
        if token.resource:
            data["aud"] = token.resource
        return JsonResponse({k: v for k, v in data.items() if v is not None})
