"""/v1/mfa/accounts/{account_id}/...: IBM's MFA enrolment report and status, answered from the mfa app's factors
and policy (the account setting ``mfa`` is that policy's level)."""

from django.contrib.auth import get_user_model
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from mfa import services as mfa_services

from .base import IBMView, ensure_account, permissions, stamp
from .serializers import ReportReferenceSerializer  # IBM's one ReportReference, shared with activity reports
from .base import account_id as current_account_id

TAG = "IBM Cloud IAM: Multi-factor authentication"
READ = "iam/mfa:read"


class ReportTypeQuery(serializers.Serializer):
    type = serializers.ChoiceField(choices=["mfa_status"], required=False, default="mfa_status")


class StatusQuery(serializers.Serializer):
    iam_id = serializers.CharField(max_length=255)


class MfaEnrollmentTypeStatusSerializer(serializers.Serializer):
    required = serializers.BooleanField()
    enrolled = serializers.BooleanField()


class IdBasedMfaEnrollmentSerializer(serializers.Serializer):
    trait_account_default = serializers.CharField()
    trait_effective = serializers.CharField()
    complies = serializers.BooleanField()
    comply_state = serializers.CharField()


class AccountBasedMfaEnrollmentSerializer(serializers.Serializer):
    security_questions = MfaEnrollmentTypeStatusSerializer()
    totp = MfaEnrollmentTypeStatusSerializer()
    verisign = MfaEnrollmentTypeStatusSerializer()
    complies = serializers.BooleanField()


class UserMfaEnrollmentsSerializer(serializers.Serializer):
    iam_id = serializers.CharField()
    effective_mfa_type = serializers.CharField()
    id_based_mfa = IdBasedMfaEnrollmentSerializer()
    account_based_mfa = AccountBasedMfaEnrollmentSerializer()


class UserReportMfaEnrollmentStatusSerializer(UserMfaEnrollmentsSerializer):
    name = serializers.CharField()
    username = serializers.CharField()
    email = serializers.CharField()


class ReportMfaEnrollmentStatusSerializer(serializers.Serializer):
    created_by = serializers.CharField()
    reference = serializers.CharField()
    report_time = serializers.CharField()
    account_id = serializers.CharField()
    users = UserReportMfaEnrollmentStatusSerializer(many=True)


def effective_trait(state):
    """IBM's trait: the account's level, or TOTP where only the principal's roles require a second factor."""
    if state["required"] and state["level"] in ("NONE", "NONE_NO_ROPC"):
        return "TOTP"
    return state["level"]


def enrolment(state):
    """One identity's MFA enrolment in IBM's shape (UserMfaEnrollments / UserReportMfaEnrollmentStatus)."""
    return {
        "iam_id": state["iam_id"],
        "effective_mfa_type": "id_based_mfa",
        "id_based_mfa": {
            "trait_account_default": state["level"],
            "trait_effective": effective_trait(state),
            "complies": state["complies"],
            "comply_state": "ACCOUNT" if state["complies"] else "NO",
        },
        "account_based_mfa": {
            "security_questions": {"required": False, "enrolled": False},
            "totp": {"required": state["required"], "enrolled": bool(state["totp"])},
            "verisign": {"required": False, "enrolled": False},
            "complies": state["complies"],
        },
    }


class MfaReportView(IBMView):
    """Start a report of everyone's enrolment (made at once; IBM's clients poll for it)."""

    required_permissions = permissions(post=READ)

    @extend_schema(operation_id="createMfaReport", tags=[TAG], summary="Snapshot the MFA enrolment of everyone.",
                   request=None, parameters=[OpenApiParameter("type", str, enum=["mfa_status"])],
                   responses={202: ReportReferenceSerializer})
    def post(self, request, account_id):
        ensure_account(account_id)
        self.query(ReportTypeQuery)
        report = mfa_services.create_report(request.user)
        return Response(ReportReferenceSerializer(report).data, status=202, content_type="application/json")


class MfaReportDetailView(IBMView):
    required_permissions = permissions(get=READ)

    @extend_schema(operation_id="getMfaReport", tags=[TAG], summary="A report made earlier, or 'latest'.",
                   responses={200: ReportMfaEnrollmentStatusSerializer})
    def get(self, request, account_id, reference):
        ensure_account(account_id)
        report = mfa_services.find_report(reference)
        users = [{**enrolment(user), "name": user.get("name") or "", "username": user["email"],
                  "email": user["email"]} for user in report.users]
        data = {"created_by": report.created_by, "reference": report.reference,
                "report_time": stamp(report.created_at), "account_id": current_account_id(), "users": users}
        return Response(ReportMfaEnrollmentStatusSerializer(data).data, content_type="application/json")


class MfaStatusView(IBMView):
    required_permissions = permissions(get=READ)

    @extend_schema(operation_id="getMfaStatus", tags=[TAG], summary="One user's MFA enrolment.",
                   parameters=[OpenApiParameter("iam_id", str, required=True)],
                   responses={200: UserMfaEnrollmentsSerializer})
    def get(self, request, account_id):
        ensure_account(account_id)
        iam_id = self.query(StatusQuery)["iam_id"]
        principal = get_user_model().objects.filter(iam_id=iam_id).first() if "\x00" not in iam_id else None
        if principal is None:
            raise NotFound(f"No user has the iam_id {iam_id}.")
        state = {"iam_id": principal.iam_id, **mfa_services.status(principal)}
        return Response(UserMfaEnrollmentsSerializer(enrolment(state)).data, content_type="application/json")
