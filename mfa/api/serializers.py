"""Serializers of the multi-factor API: a principal's factors and status, the policy, a reset's result."""

from rest_framework import serializers

from ..models import MFA_LEVELS


class FactorSerializer(serializers.Serializer):
    id = serializers.CharField()
    kind = serializers.ChoiceField(choices=["totp", "passkey", "recovery"])
    name = serializers.CharField()
    createdAt = serializers.DateTimeField(source="created_at", allow_null=True)
    lastUsedAt = serializers.DateTimeField(source="last_used_at", allow_null=True)
    remaining = serializers.IntegerField(allow_null=True, help_text="Recovery codes left (recovery only).")


class MfaStatusSerializer(serializers.Serializer):
    required = serializers.BooleanField()
    passkeyOnly = serializers.BooleanField()
    reason = serializers.CharField(allow_blank=True)
    enrolled = serializers.BooleanField()
    complies = serializers.BooleanField()
    recoveryCodesLeft = serializers.IntegerField()
    factors = FactorSerializer(many=True)


class MfaPolicySerializer(serializers.Serializer):
    level = serializers.ChoiceField(choices=MFA_LEVELS, help_text="IBM's account value: NONE and NONE_NO_ROPC "
                                    "require no second factor; the others require one of everyone "
                                    "(LEVEL3: a passkey or security key).")
    requiredRoles = serializers.ListField(child=serializers.CharField(max_length=255), source="required_roles",
                                          max_length=100, help_text="Holders of these roles must use a second "
                                                                   "factor whatever the level.")


class MfaPolicyPatchSerializer(MfaPolicySerializer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.required = False


class MfaResetSerializer(serializers.Serializer):
    totp = serializers.IntegerField()
    passkeys = serializers.IntegerField()
    recoveryCodes = serializers.IntegerField()
