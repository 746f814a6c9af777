"""JSON shapes of principals (camelCase) and the validation of what callers send."""

from rest_framework import serializers

from iam_project.api import StrictSerializer
from iam_project.models import validate_properties


class PropertiesField(serializers.JSONField):
    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        from django.core.exceptions import ValidationError

        try:
            validate_properties(value)
        except ValidationError as exc:
            raise serializers.ValidationError(exc.messages) from None
        return value


class RoleKeysField(serializers.ListField):
    child = serializers.CharField(max_length=100)
    max_length = 200


class BindingSummarySerializer(serializers.Serializer):
    id = serializers.UUIDField()
    role = serializers.CharField(source="role.key")
    scope = serializers.CharField()
    source = serializers.CharField()
    expiresAt = serializers.DateTimeField(source="expires_at", allow_null=True)


class PrincipalSerializer(serializers.Serializer):
    id = serializers.UUIDField(read_only=True)
    iamId = serializers.CharField(source="iam_id", read_only=True)
    email = serializers.EmailField(read_only=True)
    properties = serializers.JSONField(read_only=True)
    roles = serializers.SerializerMethodField()
    bindings = serializers.SerializerMethodField()
    suspended = serializers.BooleanField(read_only=True)
    mustChangePassword = serializers.BooleanField(source="must_change_password", read_only=True)
    createdAt = serializers.DateTimeField(source="created_at", read_only=True)
    updatedAt = serializers.DateTimeField(source="updated_at", read_only=True)

    def _bindings(self, obj):
        # Lists prefetch the current bindings into `current_bindings`; single objects read them here.
        if hasattr(obj, "current_bindings"):
            return obj.current_bindings
        from roles.models import RoleBinding

        return list(RoleBinding.objects.for_identity(obj).current().select_related("role"))

    def get_roles(self, obj) -> list[str]:
        return sorted({binding.role.key for binding in self._bindings(obj)})

    def get_bindings(self, obj) -> list[dict]:
        return BindingSummarySerializer(self._bindings(obj), many=True).data


class PrincipalPutSerializer(StrictSerializer):
    email = serializers.EmailField(max_length=254)
    properties = PropertiesField(required=False, default=dict)
    roles = RoleKeysField(required=False, default=list)
    password = serializers.CharField(required=False, write_only=True, max_length=256,
                                     style={"input_type": "password"}, trim_whitespace=False)


class PrincipalPatchSerializer(StrictSerializer):
    email = serializers.EmailField(max_length=254, required=False)
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
