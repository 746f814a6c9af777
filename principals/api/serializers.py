"""JSON shapes of principals (camelCase) and the validation of what callers send."""

from rest_framework import serializers

from iam_project.api import StrictSerializer
from iam_project.models import validate_properties
from iam_project.validators import validate_email_address
from roles.api.serializers import IdentityRolesMixin, RoleKeysField


class PropertiesField(serializers.JSONField):
    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        from django.core.exceptions import ValidationError

        try:
            validate_properties(value)
        except ValidationError as exc:
            raise serializers.ValidationError(exc.messages) from None
        return value


class PrincipalSerializer(IdentityRolesMixin):
    id = serializers.UUIDField(read_only=True)
    iamId = serializers.CharField(source="iam_id", read_only=True)
    email = serializers.EmailField(read_only=True)
    properties = serializers.JSONField(read_only=True)
    suspended = serializers.BooleanField(read_only=True)
    mustChangePassword = serializers.BooleanField(source="must_change_password", read_only=True)
    createdAt = serializers.DateTimeField(source="created_at", read_only=True)
    updatedAt = serializers.DateTimeField(source="updated_at", read_only=True)


class PrincipalPutSerializer(StrictSerializer):
    email = serializers.EmailField(max_length=254, validators=[validate_email_address])
    properties = PropertiesField(required=False, default=dict)
    roles = RoleKeysField(required=False, default=list)
    password = serializers.CharField(required=False, write_only=True, max_length=256,
                                     style={"input_type": "password"}, trim_whitespace=False)


class PrincipalPatchSerializer(StrictSerializer):
    email = serializers.EmailField(max_length=254, required=False, validators=[validate_email_address])
    properties = PropertiesField(required=False)
    roles = RoleKeysField(required=False)


class PrincipalRolesSerializer(StrictSerializer):
    roles = RoleKeysField()


class PasswordResetResultSerializer(serializers.Serializer):
    status = serializers.CharField()
    detail = serializers.CharField()


class MeSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    iamId = serializers.CharField(source="iam_id")
    type = serializers.CharField(source="identity_type")
    email = serializers.EmailField(required=False)
    mustChangePassword = serializers.BooleanField(source="must_change_password", required=False)
    roles = serializers.ListField(child=serializers.CharField())
    permissions = serializers.ListField(child=serializers.CharField())


class PasswordChangeSerializer(StrictSerializer):
    currentPassword = serializers.CharField(max_length=256, trim_whitespace=False)
    newPassword = serializers.CharField(max_length=256, trim_whitespace=False)
