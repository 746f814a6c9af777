"""The IBM face's account-level extras: activity (inactivity) reports built by Celery over the audit trail,
preferences, the account's identity limits, and the template lists of IBM's enterprise machinery (one
installation is one account: it has no templates, so those lists are empty and their other operations are
IBM 404s)."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from .. import services
from ..models import ActivityReport, Preference, ServiceIdGroup, TrustedProfile
from .base import SUMMARIES, IBMView, ensure_account, ibm_operation, permissions
from .serializers import (AccountLimitsSerializer, AccountSettingsTemplateListSerializer, AccountQuerySerializer,
                          CreateReportQuerySerializer, PreferenceListSerializer, PreferenceSerializer,
                          ProfileTemplateListSerializer, ReportReferenceSerializer, ReportSerializer,
                          UpdatePreferenceSerializer)

REPORTS, PREFERENCES, LIMITS, TEMPLATES = "Activity Reports", "Preferences", "Account Limits", "Templates"


class ReportListView(IBMView):
    required_permissions = permissions(post="audit/events:read")

    @ibm_operation("createReport", REPORTS, query=CreateReportQuerySerializer, response=ReportReferenceSerializer,
                   status=202)
    def post(self, request, account_id):
        ensure_account(account_id)
        params = self.query(CreateReportQuerySerializer)
        report = services.create_activity_report(request.user, params.get("type") or "inactive",
                                                 params.get("duration") or "720")
        return self.respond(ReportReferenceSerializer, report, status=202)


class ReportView(IBMView):
    """A report: 204 while its task has not run, then the report (IBM's status)."""

    required_permissions = permissions(get="audit/events:read")

    @extend_schema(operation_id="getReport", tags=[f"IBM Cloud IAM: {REPORTS}"], summary=SUMMARIES["getReport"],
                   responses={200: ReportSerializer, 204: OpenApiResponse(description="Not built yet.")})
    def get(self, request, account_id, reference):
        ensure_account(account_id)
        if reference == "latest":
            report = ActivityReport.objects.filter(status="complete").order_by("-created_at").first()
        else:
            report = ActivityReport.objects.filter(reference=reference).first()
        if report is None:
            raise NotFound(f"No such report: {reference}.")
        if report.status == "pending":
            return Response(status=204)
        return self.respond(ReportSerializer, report)


def own_or(request, iam_id, permission):
    """One's own preferences need no permission; another identity's need ``permission``."""
    if iam_id != request.user.iam_id:
        from iam_project.permissions import require

        require(request, permission)


class PreferenceView(IBMView):
    required_permissions = permissions(get=None, put=None, delete=None)

    @ibm_operation("getPreferencesOnScopeAccount", PREFERENCES, response=PreferenceSerializer)
    def get(self, request, account_id, iam_id, service, preference_id):
        ensure_account(account_id)
        own_or(request, iam_id, "iam/preferences:read")
        found = Preference.objects.filter(iam_id=iam_id, service=service, preference_id=preference_id).first()
        if found is None:
            raise NotFound("No such preference.")
        return self.respond(PreferenceSerializer, found)

    @ibm_operation("updatePreferenceOnScopeAccount", PREFERENCES, request=UpdatePreferenceSerializer,
                   response=PreferenceSerializer)
    def put(self, request, account_id, iam_id, service, preference_id):
        ensure_account(account_id)
        own_or(request, iam_id, "iam/preferences:write")
        data = self.body(UpdatePreferenceSerializer)
        found = services.put_preference(request.user, iam_id, service, preference_id, data.get("value_string"),
                                        data.get("value_list_of_strings"))
        return self.respond(PreferenceSerializer, found)

    @ibm_operation("deletePreferencesOnScopeAccount", PREFERENCES, status=204)
    def delete(self, request, account_id, iam_id, service, preference_id):
        ensure_account(account_id)
        own_or(request, iam_id, "iam/preferences:delete")
        services.delete_preference(request.user, iam_id, service, preference_id)
        return Response(status=204)


class PreferenceListView(IBMView):
    required_permissions = permissions(get=None)

    @ibm_operation("getAllPreferencesOnScopeAccount", PREFERENCES, response=PreferenceListSerializer)
    def get(self, request, account_id, iam_id):
        ensure_account(account_id)
        own_or(request, iam_id, "iam/preferences:read")
        return self.respond(PreferenceListSerializer,
                            {"preferences": list(Preference.objects.filter(iam_id=iam_id)[:1000])})


# IBM's default limits of an account (the counts are this installation's own).
LIMITS_ = {"serviceid_groups": 2000, "profiles": 2000, "cr_links": 2000, "cr_rules": 2000, "idps": 0,
           "profile_templates": 0, "account_settings_templates": 0}


class AccountLimitsView(IBMView):
    """The account's identity limits and what it uses of them (GET: all; POST: IBM's bulk form, the same)."""

    required_permissions = permissions(get="iam/account:read", post="iam/account:read")

    def answer(self, account_id):
        from ..models import ClaimRule, ProfileLink

        ensure_account(account_id)
        counts = {"serviceid_groups": ServiceIdGroup.objects.count(), "profiles": TrustedProfile.objects.count(),
                  "cr_links": ProfileLink.objects.count(),
                  "cr_rules": ClaimRule.objects.filter(type="Profile-CR").count(), "idps": 0,
                  "profile_templates": 0, "account_settings_templates": 0}
        return self.respond(AccountLimitsSerializer,
                            {name: {"limit": limit, "count": counts[name]} for name, limit in LIMITS_.items()})

    @ibm_operation("getAccountLimits", LIMITS, response=AccountLimitsSerializer)
    def get(self, request, account_id):
        return self.answer(account_id)

    @ibm_operation("bulkListAccountEntityConsumption", LIMITS, response=AccountLimitsSerializer)
    def post(self, request, account_id):
        return self.answer(account_id)


class ProfileTemplateListView(IBMView):
    """IBM's trusted-profile templates: enterprise machinery; this account has none."""

    required_permissions = permissions(get="iam/profiles:read")

    @ibm_operation("listProfileTemplates", TEMPLATES, query=AccountQuerySerializer,
                   response=ProfileTemplateListSerializer)
    def get(self, request):
        ensure_account(self.query(AccountQuerySerializer).get("account_id"), for_list=True)
        return self.respond(ProfileTemplateListSerializer, {"offset": 0, "limit": 0, "profile_templates": []})


class AccountSettingsTemplateListView(IBMView):
    """IBM's account-settings templates: enterprise machinery; this account has none."""

    required_permissions = permissions(get="iam/account:read")

    @ibm_operation("listAccountSettingsTemplates", TEMPLATES, query=AccountQuerySerializer,
                   response=AccountSettingsTemplateListSerializer)
    def get(self, request):
        ensure_account(self.query(AccountQuerySerializer).get("account_id"), for_list=True)
        return self.respond(AccountSettingsTemplateListSerializer,
                            {"offset": 0, "limit": 0, "account_settings_templates": []})
