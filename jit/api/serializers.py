"""JSON shapes of eligibilities and access requests (camelCase; durations as ISO 8601 strings)."""

from rest_framework import serializers

from iam_project.api import StrictSerializer

from ..durations import ISODurationField, format_duration


class EligibilitySerializer(serializers.Serializer):
    id = serializers.UUIDField(read_only=True)
    iamId = serializers.SerializerMethodField()
    heldRole = serializers.SerializerMethodField()
    role = serializers.CharField(source="role.key")
    scope = serializers.CharField()
    maxDuration = ISODurationField(source="max_duration")
    approvalRequired = serializers.BooleanField(source="approval_required")
    approverRole = serializers.SerializerMethodField()
    approvalsRequired = serializers.IntegerField(source="approvals_required")
    justificationRequired = serializers.BooleanField(source="justification_required")
    createdBy = serializers.CharField(source="created_by")
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="updated_at")

    def get_iamId(self, obj) -> str | None:
        identity = obj.identity
        return identity.iam_id if identity else None

    def get_heldRole(self, obj) -> str | None:
        return obj.held_role.key if obj.held_role_id else None

    def get_approverRole(self, obj) -> str | None:
        return obj.approver_role.key if obj.approver_role_id else None


class EligibilityInputSerializer(StrictSerializer):
    iamId = serializers.CharField(max_length=64, required=False, allow_null=True)
    heldRole = serializers.CharField(max_length=100, required=False, allow_null=True)
    role = serializers.CharField(max_length=100)
    scope = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
    maxDuration = ISODurationField()
    approvalRequired = serializers.BooleanField(required=False, default=True)
    approverRole = serializers.CharField(max_length=100, required=False, allow_null=True, default=None)
    approvalsRequired = serializers.IntegerField(min_value=1, max_value=10, required=False, default=1)
    justificationRequired = serializers.BooleanField(required=False, default=True)

    def validate(self, data):
        if bool(data.get("iamId")) == bool(data.get("heldRole")):
            raise serializers.ValidationError({"iamId": ["Give exactly one of iamId and heldRole."]})
        return data


class ApprovalSerializer(serializers.Serializer):
    approver = serializers.CharField()
    at = serializers.DateTimeField()
    comment = serializers.CharField()


class AccessRequestSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    requester = serializers.CharField(source="requester_iam_id")
    role = serializers.CharField(source="role.key")
    scope = serializers.CharField()
    duration = ISODurationField()
    justification = serializers.CharField()
    status = serializers.CharField()
    approvals = ApprovalSerializer(many=True, source="approvals.all")
    approvalsRequired = serializers.IntegerField(source="approvals_required")
    startsAt = serializers.DateTimeField(source="starts_at", allow_null=True)
    expiresAt = serializers.DateTimeField(source="expires_at", allow_null=True)
    timeLeft = serializers.SerializerMethodField()
    decidedBy = serializers.CharField(source="decided_by")
    decidedAt = serializers.DateTimeField(source="decided_at", allow_null=True)
    comment = serializers.CharField(source="decision_comment")
    endedBy = serializers.CharField(source="ended_by")
    endedAt = serializers.DateTimeField(source="ended_at", allow_null=True)
    createdAt = serializers.DateTimeField(source="created_at")

    def get_timeLeft(self, obj) -> str | None:
        left = obj.time_left()
        return format_duration(left) if left is not None else None


class AccessRequestInputSerializer(StrictSerializer):
    role = serializers.CharField(max_length=100)
    duration = ISODurationField()
    justification = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    scope = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")


class DecisionSerializer(StrictSerializer):
    comment = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
