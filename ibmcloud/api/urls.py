"""Routes of the IBM Cloud IAM-compatible face (paths exactly as IBM's SDK calls them)."""

from django.urls import path

from . import views
from .token import IdentityTokenView

urlpatterns = [
    path("identity/token", IdentityTokenView.as_view(), name="ibm-token"),
    path("v1/apikeys", views.ApiKeyListView.as_view(), name="ibm-apikeys"),
    path("v1/apikeys/details", views.ApiKeyDetailsView.as_view(), name="ibm-apikey-details"),
    path("v1/apikeys/<str:id>", views.ApiKeyView.as_view(), name="ibm-apikey"),
    path("v1/apikeys/<str:id>/lock", views.ApiKeyLockView.as_view(), name="ibm-apikey-lock"),
    path("v1/apikeys/<str:id>/disable", views.ApiKeyDisableView.as_view(), name="ibm-apikey-disable"),
    path("v1/serviceids/", views.ServiceIdListView.as_view(), name="ibm-serviceids"),
    path("v1/serviceids/<str:id>", views.ServiceIdView.as_view(), name="ibm-serviceid"),
    path("v1/serviceids/<str:id>/lock", views.ServiceIdLockView.as_view(), name="ibm-serviceid-lock"),
    path("v1/profiles", views.ProfileListView.as_view(), name="ibm-profiles"),
    path("v1/profiles/<str:profile_id>", views.ProfileView.as_view(), name="ibm-profile"),
    path("v1/profiles/<str:profile_id>/rules", views.ClaimRuleListView.as_view(), name="ibm-claim-rules"),
    path("v1/profiles/<str:profile_id>/rules/<str:rule_id>", views.ClaimRuleView.as_view(), name="ibm-claim-rule"),
    path("v1/policies", views.PolicyListView.as_view(), name="ibm-policies"),
    path("v1/policies/<str:policy_id>", views.PolicyView.as_view(), name="ibm-policy"),
    path("v2/roles", views.RoleListView.as_view(), name="ibm-roles"),
    path("v1/accounts/<str:account_id>/settings/identity", views.AccountSettingsView.as_view(),
         name="ibm-account-settings"),
]
