"""The OAuth 2.0 / OpenID Connect server under /oauth/: only the endpoints the platform offers.

django-oauth-toolkit's application-management and dynamic-registration views are deliberately
not mounted: clients are created through /resources/iam/clients, the console or a command, with
the platform's permission checks.
"""

from django.urls import path, re_path
from oauth2_provider import views as oauth_views

from . import views

app_name = "oauth2_provider"  # DOT reverses its own names in this namespace

urlpatterns = [
    path("authorize/", views.AuthorizationView.as_view(), name="authorize"),
    path("token/", views.TokenView.as_view(), name="token"),
    path("revoke_token/", views.RevokeTokenView.as_view(), name="revoke-token"),
    path("introspect/", views.IntrospectTokenView.as_view(), name="introspect"),
    re_path(r"^\.well-known/openid-configuration/?$", views.ConnectDiscoveryInfoView.as_view(),
            name="oidc-connect-discovery-info"),
    # RFC 8414 at the issuer's own path too; DOT derives the RFC 9207 ``iss`` from this name.
    path(".well-known/oauth-authorization-server", views.OAuthServerMetadataView.as_view(),
         name="oauth-server-metadata"),
    path(".well-known/jwks.json", oauth_views.JwksInfoView.as_view(), name="jwks-info"),
    path("userinfo/", views.UserInfoView.as_view(), name="user-info"),
    path("logout/", views.RPInitiatedLogoutView.as_view(), name="rp-initiated-logout"),
]

account_urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    # The sign-in pages' sign-out is the RP-initiated logout page (same path, matched above).
    path("logout/", views.RPInitiatedLogoutView.as_view(), name="logout"),
    path("password/", views.PasswordChangeView.as_view(), name="oauth-password-change"),
]
