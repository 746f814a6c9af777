"""Routes of the second-factor pages (/account/mfa/...) and of the WebAuthn ceremonies they drive."""

from django.urls import include, path
from django.views.i18n import JavaScriptCatalog

from . import views, webauthn

webauthn_urlpatterns = ([
    path("registration/begin/", webauthn.BeginRegistrationView.as_view(), name="credential-registration-begin"),
    path("registration/complete/", webauthn.CompleteRegistrationView.as_view(),
         name="credential-registration-complete"),
    path("authentication/begin/", webauthn.BeginAuthenticationView.as_view(),
         name="credential-authentication-begin"),
    path("authentication/complete/", webauthn.CompleteAuthenticationView.as_view(),
         name="credential-authentication-complete"),
    path("jsi18n/", JavaScriptCatalog.as_view(packages=["django_otp_webauthn"]), name="js-i18n-catalog"),
], "otp_webauthn")  # the library's script and template tags reverse these names

urlpatterns = [
    path("account/mfa/", views.ManageView.as_view(), name="mfa-manage"),
    path("account/mfa/verify/", views.VerifyView.as_view(), name="mfa-verify"),
    path("account/mfa/enrol/", views.EnrolView.as_view(), name="mfa-enrol"),
    path("account/mfa/webauthn/", include(webauthn_urlpatterns)),
]
