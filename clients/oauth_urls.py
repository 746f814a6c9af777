"""The OAuth 2.0 / OpenID Connect server under /oauth/: only the endpoints the platform offers.

django-oauth-toolkit's application-management and dynamic-registration views are deliberately
not mounted: clients are created through /resources/iam/clients, the console or a command, with
the platform's permission checks.
"""

from django.contrib.auth import views as auth_views
from django.urls import path, re_path
from oauth2_provider import views as oauth_views

from . import views

app_name = "oauth2_provider"  # DOT reverses its own names in this namespace

urlpatterns = [
    path("authorize/", views.AuthorizationView.as_view(), name="authorize"),
    path("token/", oauth_views.TokenView.as_view(), name="token"),
    path("revoke_token/", oauth_views.RevokeTokenView.as_view(), name="revoke-token"),
    path("introspect/", views.IntrospectTokenView.as_view(), name="introspect"),
    re_path(r"^\.well-known/openid-configuration/?$", oauth_views.ConnectDiscoveryInfoView.as_view(),
            name="oidc-connect-discovery-info"),
    path(".well-known/jwks.json", oauth_views.JwksInfoView.as_view(), name="jwks-info"),
    path("userinfo/", oauth_views.UserInfoView.as_view(), name="user-info"),
]

account_urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(next_page="login"), name="logout"),
    path("password/", views.PasswordChangeView.as_view(), name="oauth-password-change"),
]
