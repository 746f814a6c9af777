"""JSON shapes of roles and of the authorization check."""

from rest_framework import serializers

from iam_project.api import StrictSerializer


class BindingSummarySerializer(serializers.Serializer):
    id = serializers.UUIDField()
    role = serializers.CharField(source="role.key")
    scope = serializers.CharField()
    source = serializers.CharField()
    expiresAt = serializers.DateTimeField(source="expires_at", allow_null=True)


class IdentityRolesMixin(serializers.Serializer):
    """``roles`` (keys held now) and ``bindings`` of a principal or client. Lists prefetch the
    current bindings into ``current_bindings``; a single object reads them here."""

    roles = serializers.SerializerMethodField()
    bindings = serializers.SerializerMethodField()

    def _bindings(self, obj):
        if hasattr(obj, "current_bindings"):
            return obj.current_bindings
        from roles.models import RoleBinding

        return list(RoleBinding.objects.for_identity(obj).current().select_related("role"))

    def get_roles(self, obj) -> list[str]:
        return sorted({binding.role.key for binding in self._bindings(obj)})

    def get_bindings(self, obj) -> list[dict]:
        return BindingSummarySerializer(self._bindings(obj), many=True).data


class RoleKeysField(serializers.ListField):
    child = serializers.CharField(max_length=100)
    max_length = 200


class AclEntrySerializer(StrictSerializer):
    resource = serializers.CharField(max_length=200)
    permission = serializers.CharField(max_length=100)


class AclSerializer(StrictSerializer):
    entries = AclEntrySerializer(many=True, max_length=500)


class RoleSerializer(serializers.Serializer):
    key = serializers.CharField(read_only=True)
    description = serializers.CharField(read_only=True)
    acl = serializers.SerializerMethodField()
    isSystem = serializers.BooleanField(source="is_system", read_only=True)
    createdAt = serializers.DateTimeField(source="created_at", read_only=True)
    updatedAt = serializers.DateTimeField(source="updated_at", read_only=True)

    def get_acl(self, obj) -> dict:
        return {"entries": obj.acl_entries}


class RolePutSerializer(StrictSerializer):
    key = serializers.CharField(max_length=100, required=False,
                                help_text="Optional; when given it must equal the key in the path.")
    description = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    acl = AclSerializer()


class AuthorizeRequestSerializer(StrictSerializer):
    iamId = serializers.CharField(max_length=64)
    permission = serializers.CharField(max_length=300)
    resource = serializers.CharField(max_length=500, required=False, allow_null=True)
    context = serializers.DictField(required=False, default=dict)

    def validate_permission(self, value):
        from .. import permissions

        try:
            permissions.split_permission(value)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from None
        return value

    def validate_context(self, value):
        import ipaddress

        unknown = set(value) - {"ip", "time", "attributes"}
        if unknown:
            raise serializers.ValidationError(f"Unknown context keys: {', '.join(sorted(unknown))}.")
        if "ip" in value:
            try:
                ipaddress.ip_address(value["ip"])
            except (TypeError, ValueError):
                raise serializers.ValidationError({"ip": "Not an IP address."}) from None
        attributes = value.get("attributes", {})
        if not isinstance(attributes, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                         for k, v in attributes.items()):
            raise serializers.ValidationError({"attributes": "An object of the resource's attributes (strings): "
                                                             "resourceGroupId, tag:<name>."})
        if "time" in value:
            field = serializers.DateTimeField()
            value = dict(value, time=field.to_internal_value(value["time"]))
        return value


class AuthorizeResponseSerializer(serializers.Serializer):
    allowed = serializers.BooleanField()
    reason = serializers.CharField()
    role = serializers.CharField(allow_null=True)
    binding = serializers.CharField(allow_null=True)
