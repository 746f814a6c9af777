"""Routes of the self-service pages (/account/...; the second-factor pages are mfa's /account/mfa/)."""

from django.urls import path

from . import views

urlpatterns = [
    path("account/", views.HomeView.as_view(), name="account-home"),
    path("account/profile/", views.ProfileView.as_view(), name="account-profile"),
    path("account/password/", views.PasswordView.as_view(), name="account-password"),
    path("account/access/", views.AccessView.as_view(), name="account-access"),
    path("account/requests/", views.RequestsView.as_view(), name="account-requests"),
    path("account/api-keys/", views.ApiKeysView.as_view(), name="account-apikeys"),
    path("account/sessions/", views.SessionsView.as_view(), name="account-sessions"),
]
