"""Routes of the multi-factor API under /resources/."""

from django.urls import path

from .views import MeMfaView, MfaPolicyView, PrincipalMfaResetView

urlpatterns = [
    path("me/mfa", MeMfaView.as_view(), name="me-mfa"),
    path("iam/principals/<str:pk>/mfa/reset", PrincipalMfaResetView.as_view(), name="principal-mfa-reset"),
    path("iam/mfa/policy", MfaPolicyView.as_view(), name="mfa-policy"),
]
