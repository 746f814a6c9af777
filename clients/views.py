"""The OAuth server's pages and endpoints, extending django-oauth-toolkit's: sign-in, forced password
change, authorization (prompt, max_age, RFC 9207 issuer), token and revocation errors (RFC 6749
§5.2), introspection behind a permission, userinfo errors (RFC 6750), discovery and RP-initiated logout."""

import calendar
import hashlib
import json
import time
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.http import HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import resolve_url
from django.urls import reverse, reverse_lazy
from django.utils.decorators import method_decorator
from django.utils.http import urlencode as django_urlencode
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_post_parameters
from django.views.generic import View
from oauth2_provider import views as oauth_views
from oauth2_provider.compat import login_not_required
from oauth2_provider.exceptions import InvalidIDTokenError, InvalidOIDCClientError, OAuthToolkitError, OIDCError
from oauth2_provider.models import get_access_token_model, get_application_model
from oauth2_provider.scopes import get_scopes_backend
from oauth2_provider.settings import oauth2_settings
from oauth2_provider.signals import app_authorized
from oauth2_provider.views.mixins import OAuthLibMixin
from oauthlib.common import Request as OauthlibRequest
from oauthlib.oauth2.rfc6749 import errors as oauth_errors
from oauthlib.openid.connect.core.exceptions import InteractionRequired

from iam_project import authcache
from iam_project.signin import second_step
from iam_project.stepup import ACR_VALUES, from_session, token_claims
from principals.forms import ConsolePasswordChangeForm
from roles import engine

from .oauth import ISSUED_CLAIMS, OFFERED_CODE_CHALLENGE_METHODS, OFFERED_GRANT_TYPES, OFFERED_RESPONSE_TYPES
from .revocation import revoke_tokens
from .signals import AUTH_TIME_SESSION_KEY

# A re-authentication this session owes before one authorization request may go on.
REAUTH_SESSION_KEY = "oauth_reauth"

CLIENT_SECRET_METHODS = ["client_secret_basic", "client_secret_post"]
BASIC_CHALLENGE = 'Basic realm="portcullis"'


def session_auth_time(request):
    """When the session's user signed in: the time recorded at sign-in, else the principal's last login."""
    value = request.session.get(AUTH_TIME_SESSION_KEY)
    if isinstance(value, (int, float)):
        return float(value)
    last_login = getattr(request.user, "last_login", None)
    return last_login.timestamp() if last_login else None


def with_issuer(uri, issuer):
    """RFC 9207: the authorization response names its issuer (``iss``), errors included; any
    ``iss`` already in the URI (e.g. from the registered redirect URI) is replaced."""
    parts = urlsplit(uri)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "iss"]
    query.append(("iss", issuer))
    return urlunsplit(parts._replace(query=urlencode(query)))


def oauth_error_response(status, error, description, **headers):
    """An RFC 6749 §5.2 JSON error."""
    response = JsonResponse({"error": error, "error_description": description}, status=status)
    response["Cache-Control"] = "no-store"
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def client_endpoint_response(response):
    """RFC 6749 §5.2 at the token and revocation endpoints: every error is JSON, never cached, and
    a failed client authentication is a 401 naming the scheme clients use (Basic) — not oauthlib's
    Bearer challenge, which belongs to resource servers."""
    if response.status_code >= 400:
        response["Content-Type"] = "application/json"
        response["Cache-Control"] = "no-store"
    if response.status_code == 401:
        response["WWW-Authenticate"] = BASIC_CHALLENGE
    return response


class LoginView(auth_views.LoginView):
    """Sign-in for the authorization endpoint: Django's authentication, for any active principal."""

    template_name = "oauth/login.html"
    redirect_authenticated_user = False

    def form_valid(self, form):
        """A correct password signs in only once the second step (a second factor, or an enrolment the
        policy requires) is done: ``iam_project.signin`` hands over to the mfa app."""
        return second_step(self.request, form.get_user(), self.get_success_url(), face="oauth") or \
            super().form_valid(form)


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
    """DOT's authorization endpoint, plus: the request is validated before any page is shown;
    ``prompt=none`` answers login_required / consent_required / interaction_required to the
    client; ``prompt=login`` and an exceeded ``max_age`` make the user sign in again; a principal
    with a temporary password changes it first; every redirect to the client carries ``iss``."""

    def dispatch(self, request, *args, **kwargs):
        self.silent = False
        if request.method == "POST" and getattr(request.user, "must_change_password", False):
            return self.password_change_redirect()
        return super().dispatch(request, *args, **kwargs)

    def password_change_redirect(self):
        return HttpResponseRedirect(
            f"{reverse('oauth-password-change')}?{django_urlencode({'next': self.request.get_full_path()})}")

    def redirect(self, redirect_to, application):
        issuer = oauth2_settings.oauth2_authorization_server_issuer(self.request)
        return super().redirect(with_issuer(redirect_to, issuer), application)

    def validated(self, request):
        """oauthlib's validation, plus the parameters this server understands in one way only.
        Returns (scopes, credentials, max_age); raises OAuthToolkitError."""
        scopes, credentials = self.validate_authorization_request(request)
        response_mode = request.GET.get("response_mode")
        if response_mode not in (None, "query"):
            raise self.redirected_error(oauth_errors.InvalidRequestError,
                                        "Only response_mode=query is supported.", credentials)
        max_age = request.GET.get("max_age")
        if max_age is not None:
            if not max_age.isdigit() or len(max_age) > 10:
                raise self.redirected_error(oauth_errors.InvalidRequestError,
                                            "max_age must be a whole number of seconds.", credentials)
            max_age = int(max_age)
        return scopes, credentials, max_age

    @staticmethod
    def redirected_error(error_class, description, credentials):
        error = error_class(description=description, state=credentials.get("state"))
        return OAuthToolkitError(error=error, redirect_uri=credentials["redirect_uri"])

    def handle_no_permission(self):
        """Not signed in: refuse a malformed request before showing the sign-in page."""
        try:
            self.validated(self.request)
        except OAuthToolkitError as error:
            return self.error_response(error, application=None)
        return super().handle_no_permission()

    def reauthentication_target(self):
        """This request without ``prompt=login``: where the user comes back to after signing in."""
        parts = urlsplit(self.request.get_full_path())
        query = []
        for key, value in parse_qsl(parts.query, keep_blank_values=True):
            if key == "prompt":
                value = " ".join(p for p in value.split() if p != "login")
                if not value:
                    continue
            query.append((key, value))
        return urlunsplit(parts._replace(query=urlencode(query)))

    def reauthentication_needed(self, prompt, max_age):
        """True while the user must sign in again for this request: asked by ``prompt=login``, or
        the last sign-in is older than ``max_age``. Once the user has signed in after being sent
        to do so (a marker in the session, for this very request), it is satisfied."""
        session = self.request.session
        auth_time = session_auth_time(self.request)
        marker = session.get(REAUTH_SESSION_KEY)
        if isinstance(marker, dict) and marker.get("for") == self.reauthentication_target():
            if auth_time is not None and auth_time >= marker.get("at", float("inf")):
                session.pop(REAUTH_SESSION_KEY, None)
                return False
            return True  # sent to sign in and came back without doing so
        if "login" in prompt:
            return True
        return max_age is not None and (auth_time is None or time.time() - auth_time > max_age)

    def reauthenticate(self):
        target = self.reauthentication_target()
        self.request.session[REAUTH_SESSION_KEY] = {"at": time.time(), "for": target}
        return redirect_to_login(target, resolve_url(self.get_login_url()), self.get_redirect_field_name())

    def silent_error(self, error_class, credentials, application, description):
        """prompt=none could not be satisfied without a page: tell the client (OIDC Core §3.1.2.6)."""
        error = error_class(description=description, state=credentials.get("state"))
        return self.error_response(OAuthToolkitError(error=error, redirect_uri=credentials["redirect_uri"]),
                                   application)

    def get(self, request, *args, **kwargs):
        try:
            _scopes, credentials, max_age = self.validated(request)
        except OAuthToolkitError as error:
            return self.error_response(error, application=None)
        application = get_application_model().objects.get(client_id=credentials["client_id"])
        prompt = set(request.GET.get("prompt", "").split())
        self.silent = "none" in prompt
        if self.reauthentication_needed(prompt, max_age):
            if self.silent:
                return self.silent_error(oauth_errors.LoginRequired, credentials, application,
                                         "The user must sign in again.")
            return self.reauthenticate()
        unmet = self.unmet_acr(request)
        if unmet:
            return self.step_up_or_refuse(unmet, credentials, application)
        if request.user.must_change_password:
            if self.silent:
                return self.silent_error(InteractionRequired, credentials, application,
                                         "The user must choose a new password.")
            return self.password_change_redirect()
        if "login" in prompt:  # satisfied: DOT must not send the user to sign in once more
            request.GET = request.GET.copy()
            request.GET["prompt"] = " ".join(sorted(prompt - {"login"}))
        return super().get(request, *args, **kwargs)

    def unmet_acr(self, request):
        """The ``acr_values`` this server knows (others are ignored: OIDC Core §3.1.2.1 makes them
        voluntary) when the session meets none of them; empty when met or none was asked."""
        known = [v for v in request.GET.get("acr_values", "").split() if v in ACR_VALUES]
        if not known or any(from_session(request.session).satisfies(v) for v in known):
            return []
        return known

    def step_up_or_refuse(self, unmet, credentials, application):
        """The session lacks the asked ``acr``: a principal with a second factor verifies it and comes
        back here; otherwise (or under prompt=none) the client hears ``unmet_authentication_requirements``
        (OpenID Connect Unmet Authentication Requirements 1.0, the answer RFC 9470 §5 points to)."""
        from mfa.services import has_factor

        if not self.silent and has_factor(self.request.user):
            target = self.request.get_full_path()
            return HttpResponseRedirect(f"{reverse('mfa-verify')}?{django_urlencode({'next': target})}")
        return self.silent_error(UnmetAuthenticationRequirements, credentials, application,
                                 f"This sign-in does not meet {' or '.join(unmet)}.")

    def render_to_response(self, context, **response_kwargs):
        """The consent page, under prompt=none, becomes consent_required."""
        if self.silent and response_kwargs.get("status", 200) == 200 and "error" not in context:
            credentials = {"redirect_uri": context.get("redirect_uri"), "state": context.get("state")}
            return self.silent_error(oauth_errors.ConsentRequired, credentials, context.get("application"),
                                     "The user has not allowed this client yet.")
        return super().render_to_response(context, **response_kwargs)

    def create_authorization_response(self, request, scopes, credentials, allow):
        """The code remembers when the user signed in: the ID token's auth_time."""
        credentials = {**credentials, "auth_time": session_auth_time(request),
                       "amr": list(from_session(request.session).amr)}
        return super().create_authorization_response(request, scopes, credentials, allow)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["scope_pairs"] = list(zip(context.get("scopes", []), context.get("scopes_descriptions", [])))
        return context


class UnmetAuthenticationRequirements(oauth_errors.OAuth2Error):
    """The authorization server cannot meet the requested ``acr_values`` for this sign-in."""

    error = "unmet_authentication_requirements"


class TokenView(oauth_views.TokenView):
    """DOT's token endpoint; a failed client authentication answers ``WWW-Authenticate: Basic``."""

    def post(self, request, *args, **kwargs):
        # Every grant goes through oauthlib: the device grant is not offered, so DOT's separate
        # device path (which reads device_code unchecked) is never taken.
        return client_endpoint_response(self.authorization_flow_token_response(request, *args, **kwargs))

    @method_decorator(sensitive_post_parameters("password", "client_secret"))
    def authorization_flow_token_response(self, request, *args, **kwargs):
        """DOT's, without reading the token just stored back from the database when nothing listens to its
        ``app_authorized`` signal (one query of eight on the client-credentials path)."""
        if app_authorized.has_listeners():
            return super().authorization_flow_token_response(request, *args, **kwargs)
        url, headers, body, status = self.create_token_response(request)
        response = HttpResponse(content=body, status=status)
        for name, value in headers.items():
            response[name] = value
        return response


class RevokeTokenView(oauth_views.RevokeTokenView):
    """RFC 7009 revocation; a failed client authentication answers ``WWW-Authenticate: Basic``."""

    def post(self, request, *args, **kwargs):
        return client_endpoint_response(super().post(request, *args, **kwargs))


@method_decorator(csrf_exempt, name="dispatch")
@method_decorator(login_not_required, name="dispatch")
class IntrospectTokenView(OAuthLibMixin, View):
    """RFC 7662, for resource servers: the caller authenticates as a client (Basic or body) and
    must hold ``oauth/introspect:read``. ``active`` is false the moment the token is revoked or
    expired, its principal suspended, or its client suspended or deleted. A token of another
    client shows who it belongs to and what it may do only to a caller allowed to read that
    identity (``iam/principals:read`` / ``iam/clients:read``)."""

    permission = "oauth/introspect:read"

    def authenticated_client(self, request):
        """The calling client, or None. The warm path (clients.authcache) answers a secret the database
        accepted recently with no query; anything else — a miss, a tombstone, a mismatch — is the
        database path, which audits and rate-limits failures, and whose success is then remembered."""
        core = self.get_oauthlib_core()
        uri, http_method, body, headers = core._extract_params(request)
        # Client credentials come from the Authorization header or the body, never the URL (RFC 6749 §2.3.1):
        # a URL is logged, and the lock-out counts a refused secret against the client id it reads from those
        # two places only. oauthlib reads the query string too, so the caller is authenticated without it.
        uri = urlunsplit(urlsplit(uri)._replace(query=""))
        oauthlib_request = OauthlibRequest(uri, http_method, body, headers)
        validator = core.server.request_validator
        if validator.authenticate_client(oauthlib_request):
            return oauthlib_request.client
        return None

    def post(self, request, *args, **kwargs):
        authcache.expect_token(request.POST.get("token"))  # read with the caller's secret: one round trip
        caller = self.authenticated_client(request)
        if caller is None:
            return oauth_error_response(401, "invalid_client", "Authenticate as a client (HTTP Basic or "
                                        "client_id and client_secret).", WWW_Authenticate=BASIC_CHALLENGE)
        decision = engine.decide(caller, self.permission)
        if not decision.allowed:
            return oauth_error_response(403, "unauthorized_client",
                                        f"This client may not introspect tokens: it needs {self.permission}.")
        token_value = request.POST.get("token")
        if not token_value:
            return oauth_error_response(400, "invalid_request", "The token parameter is missing.")
        return JsonResponse(self.introspection(caller, token_value))

    def introspection(self, caller, token_value):
        # The warm path: the bearer-token cache (only what the database said was live; a tombstone,
        # a suspended identity or a miss all fall through to the database below).
        cached = authcache.cached_token(token_value)
        token = cached[1] if cached is not None else None
        if token is None:
            checksum = hashlib.sha256(token_value.encode("utf-8")).hexdigest()
            token = (get_access_token_model().objects.select_related("user", "application")
                     .filter(token_checksum=checksum).first())
            if token is not None and token.is_valid():
                authcache.remember_token(token_value, token)
        if token is None or not token.is_valid():
            return {"active": False}
        identity = token.user or token.application
        if identity is None or not identity.is_active or (token.application and not token.application.is_active):
            return {"active": False}
        data = {
            "active": True,
            "scope": token.scope,
            "client_id": token.application.client_id if token.application else None,
            "token_type": "Bearer",
            "exp": int(calendar.timegm(token.expires.utctimetuple())),
            "iat": int(calendar.timegm(token.created.utctimetuple())),
            "iss": oauth2_settings.oidc_issuer(self.request),
        }
        if token.resource:
            data["aud"] = token.resource
        # How the principal authenticated, from the token's own claims (the value matched the stored checksum).
        claims = token_claims(token_value)
        for name in ("auth_time", "amr", "acr"):
            if name in claims:
                data[name] = claims[name]
        if not token.user:
            data["sub"] = token.application.client_id
        if self.may_see(caller, token, identity):
            data["sub"] = str(identity.pk) if token.user else token.application.client_id
            data["iam_id"] = identity.iam_id
            if token.user:
                data["username"] = token.user.email
            # What the token can do now (scopes ∩ current permissions): a just-in-time grant that
            # has ended, or a role removed, disappears from here at once.
            data["permissions"] = engine.token_permissions(identity, token.scope.split(), context={})
        return {k: v for k, v in data.items() if v is not None}

    @staticmethod
    def may_see(caller, token, identity):
        if token.application_id is not None and token.application_id == caller.pk:
            return True  # the caller's own token
        if token.user:
            return engine.decide(caller, "iam/principals:read", f"iam/principals/{identity.pk}").allowed
        return engine.decide(caller, "iam/clients:read", f"iam/clients/{identity.pk}").allowed


class UserInfoView(oauth_views.UserInfoView):
    """OpenID Connect userinfo with RFC 6750 errors: a token in the query string is refused; a
    token without ``openid`` is 403 insufficient_scope; every error is JSON with a Bearer challenge."""

    def _create_userinfo_response(self, request):
        if "access_token" in request.GET:
            description = "Send the access token in the Authorization header, never in the URL."
            return oauth_error_response(400, "invalid_request", description,
                                        WWW_Authenticate=f'Bearer error="invalid_request", '
                                                         f'error_description="{description}"')
        response = super()._create_userinfo_response(request)
        if response.status_code >= 400:
            response["Content-Type"] = "application/json"
            response["Cache-Control"] = "no-store"
        if response.status_code == 403:
            response["WWW-Authenticate"] = ('Bearer error="insufficient_scope", '
                                            'error_description="The access token was not granted the openid scope.", '
                                            'scope="openid"')
        elif response.status_code == 401 and not response.has_header("WWW-Authenticate"):
            response["WWW-Authenticate"] = 'Bearer realm="portcullis"'
        return response


def discovery_fields(request, view):
    """What both discovery documents (OpenID Connect and RFC 8414) say, from what the server offers."""
    scopes = get_scopes_backend()
    fields = {
        "authorization_endpoint": view._get_endpoint_url(request, "authorize", required=True),
        "token_endpoint": view._get_endpoint_url(request, "token", required=True),
        "revocation_endpoint": view._get_endpoint_url(request, "revoke-token", required=True),
        "introspection_endpoint": view._get_endpoint_url(request, "introspect", required=True),
        "userinfo_endpoint": view._get_endpoint_url(request, "user-info", required=True),
        "jwks_uri": view._get_endpoint_url(request, "jwks-info", required=True),
        "scopes_supported": sorted(scopes.get_available_scopes()),
        "response_types_supported": list(OFFERED_RESPONSE_TYPES),
        "response_modes_supported": ["query"],
        "grant_types_supported": list(OFFERED_GRANT_TYPES),
        "code_challenge_methods_supported": list(OFFERED_CODE_CHALLENGE_METHODS),
        # A public client (PKCE, no secret) names itself only: "none".
        "token_endpoint_auth_methods_supported": [*CLIENT_SECRET_METHODS, "none"],
        "revocation_endpoint_auth_methods_supported": [*CLIENT_SECRET_METHODS, "none"],
        "introspection_endpoint_auth_methods_supported": list(CLIENT_SECRET_METHODS),
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "claims_supported": list(ISSUED_CLAIMS),
        "acr_values_supported": list(ACR_VALUES),
        "prompt_values_supported": ["none", "login"],
        "claims_parameter_supported": False,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "authorization_response_iss_parameter_supported": True,
    }
    if oauth2_settings.OIDC_RP_INITIATED_LOGOUT_ENABLED:
        fields["end_session_endpoint"] = view._get_endpoint_url(request, "rp-initiated-logout", required=True)
    return fields


def extended_metadata(response, request, view):
    data = {**json.loads(response.content), **discovery_fields(request, view)}
    extended = JsonResponse(data)
    extended["Access-Control-Allow-Origin"] = "*"
    return extended


class ConnectDiscoveryInfoView(oauth_views.ConnectDiscoveryInfoView):
    """OpenID Connect discovery, listing everything the server offers and nothing it does not."""

    def get(self, request, *args, **kwargs):
        return extended_metadata(super().get(request, *args, **kwargs), request, self)


class OAuthServerMetadataView(oauth_views.OAuthServerMetadataView):
    """RFC 8414 metadata: the same document as discovery, with the same issuer."""

    def get(self, request, *args, **kwargs):
        return extended_metadata(super().get(request, *args, **kwargs), request, self)


class RPInitiatedLogoutView(oauth_views.RPInitiatedLogoutView):
    """OpenID Connect RP-Initiated Logout 1.0, and the sign-in pages' own sign-out: ends the
    session after the user confirms, revokes what the requesting client holds for the user
    (audited), and returns to the client's post-logout URI (or one of its registered redirect
    URIs) with ``state`` — or to the sign-in page."""

    template_name = "oauth/logout_confirm.html"

    def validate_logout_request_user(self, id_token_hint, client_id):
        try:
            return super().validate_logout_request_user(id_token_hint, client_id)
        except OIDCError:
            raise
        except (ValueError, TypeError, KeyError, AttributeError, ValidationError):
            raise InvalidIDTokenError() from None  # not an ID token of ours, however malformed

    def get_request_application(self, id_token, client_id):
        if client_id:
            # A NUL byte names no client (and PostgreSQL cannot even compare it).
            application = (None if "\x00" in client_id
                           else get_application_model().objects.filter(client_id=client_id).first())
        else:
            application = id_token.application if id_token else None
        if (client_id or id_token) and (application is None or not application.is_active):
            raise InvalidOIDCClientError()
        return application

    def validate_post_logout_redirect_uri(self, application, post_logout_redirect_uri):
        """A registered post-logout URI, or — since clients register their redirect URIs only —
        one of the client's redirect URIs."""
        try:
            super().validate_post_logout_redirect_uri(application, post_logout_redirect_uri)
        except OIDCError:
            if not (application and post_logout_redirect_uri
                    and application.redirect_uri_allowed(post_logout_redirect_uri)):
                raise

    def do_logout(self, application=None, post_logout_redirect_uri=None, state=None, token_user=None):
        user = token_user or self.request.user
        if application is not None and getattr(user, "pk", None) and getattr(user, "iam_id", None):
            revoke_tokens(user, reason="logout", application=application)
        response = super().do_logout(application, post_logout_redirect_uri, state, token_user)
        if not post_logout_redirect_uri:
            return HttpResponseRedirect(resolve_url(settings.LOGIN_URL))
        return response
