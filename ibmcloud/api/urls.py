"""Routes of the IBM Cloud IAM-compatible face (paths exactly as IBM's SDK calls them)."""

from django.urls import path

from . import account, apikeys, policies, profiles, roles, serviceids
from . import mfa  # multi-factor report and status (the mfa app's data)
from .token import IdentityTokenView

urlpatterns = [
    path("identity/token", IdentityTokenView.as_view(), name="ibm-token"),
    path("v1/apikeys", apikeys.ApiKeyListView.as_view(), name="ibm-apikeys"),
    path("v1/apikeys/details", apikeys.ApiKeyDetailsView.as_view(), name="ibm-apikey-details"),
    path("v1/apikeys/<str:id>", apikeys.ApiKeyView.as_view(), name="ibm-apikey"),
    path("v1/apikeys/<str:id>/lock", apikeys.ApiKeyLockView.as_view(), name="ibm-apikey-lock"),
    path("v1/apikeys/<str:id>/disable", apikeys.ApiKeyDisableView.as_view(), name="ibm-apikey-disable"),
    path("v1/serviceids/", serviceids.ServiceIdListView.as_view(), name="ibm-serviceids"),
    path("v1/serviceids/<str:id>", serviceids.ServiceIdView.as_view(), name="ibm-serviceid"),
    path("v1/serviceids/<str:id>/lock", serviceids.ServiceIdLockView.as_view(), name="ibm-serviceid-lock"),
    path("v1/profiles", profiles.ProfileListView.as_view(), name="ibm-profiles"),
    path("v1/profiles/<str:profile_id>", profiles.ProfileView.as_view(), name="ibm-profile"),
    path("v1/profiles/<str:profile_id>/rules", profiles.ClaimRuleListView.as_view(), name="ibm-claim-rules"),
    path("v1/profiles/<str:profile_id>/rules/<str:rule_id>", profiles.ClaimRuleView.as_view(),
         name="ibm-claim-rule"),
    path("v1/policies", policies.PolicyListView.as_view(), name="ibm-policies"),
    path("v1/policies/<str:policy_id>", policies.PolicyView.as_view(), name="ibm-policy"),
    path("v2/roles", roles.RoleListView.as_view(), name="ibm-roles"),
    path("v1/accounts/<str:account_id>/settings/identity", account.AccountSettingsView.as_view(),
         name="ibm-account-settings"),
    # Multi-factor enrolment (ibmcloud/api/mfa.py).
    path("v1/mfa/accounts/<str:account_id>/report", mfa.MfaReportView.as_view(), name="ibm-mfa-report-create"),
    path("v1/mfa/accounts/<str:account_id>/report/<str:reference>", mfa.MfaReportDetailView.as_view(),
         name="ibm-mfa-report"),
    path("v1/mfa/accounts/<str:account_id>/status", mfa.MfaStatusView.as_view(), name="ibm-mfa-status"),
]
