"""JSON shapes of clients and their secrets (camelCase), and the validation of what callers send."""

import ipaddress
from urllib.parse import urlsplit

from rest_framework import serializers

from iam_project.api import StrictSerializer
from roles.api.serializers import IdentityRolesMixin, RoleKeysField
from roles.scopes import OIDC_SCOPES, is_permission_scope

from ..choices import GrantTypeChoices
from ..services import properties_of

LOOPBACK_NAMES = {"localhost"}


def _is_loopback(host):
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def validate_redirect_uri(uri):
    """Absolute https URIs; http only to a loopback address (RFC 8252 native apps); exact, no
    wildcards and no fragment (RFC 9700 §4.1)."""
    try:
        parts = urlsplit(uri)
        hostname = parts.hostname
    except ValueError:
        raise serializers.ValidationError(f"{uri!r} is not a valid URI.") from None
    if parts.scheme not in ("https", "http") or not hostname:
        raise serializers.ValidationError(f"{uri!r} is not an absolute http(s) URI.")
    if parts.scheme == "http" and not _is_loopback(hostname):
        raise serializers.ValidationError(f"{uri!r}: plain http is only allowed to a loopback address.")
    if parts.fragment or "#" in uri:
        raise serializers.ValidationError(f"{uri!r}: a redirect URI must not have a fragment.")
    if "*" in uri or " " in uri:
        raise serializers.ValidationError(f"{uri!r}: wildcards and spaces are not allowed.")
    return uri


def validate_scope(scope):
    if scope in OIDC_SCOPES or is_permission_scope(scope):
        return scope
    raise serializers.ValidationError(f"{scope!r} is neither an OpenID scope nor a permission ('resource:action').")


class ClientPropertiesSerializer(StrictSerializer):
    name = serializers.CharField(max_length=255)
    description = serializers.CharField(max_length=2000, allow_blank=True, required=False)
    redirectUris = serializers.ListField(child=serializers.CharField(max_length=500, validators=[validate_redirect_uri]),
                                         max_length=20, required=False)
    grantTypes = serializers.ListField(child=serializers.ChoiceField(choices=GrantTypeChoices.choices),
                                       max_length=4, required=False)
    scopes = serializers.ListField(child=serializers.CharField(max_length=200, validators=[validate_scope]),
                                   max_length=100, required=False)
    clientType = serializers.ChoiceField(choices=["confidential", "public"], required=False)
    firstParty = serializers.BooleanField(required=False, help_text="Skip the consent page for this client.")


class ClientPropertiesOutSerializer(serializers.Serializer):
    name = serializers.CharField()
    description = serializers.CharField()
    redirectUris = serializers.ListField(child=serializers.CharField())
    grantTypes = serializers.ListField(child=serializers.CharField())
    scopes = serializers.ListField(child=serializers.CharField())
    clientType = serializers.CharField()
    firstParty = serializers.BooleanField()


class ClientSerializer(IdentityRolesMixin):
    id = serializers.UUIDField(read_only=True)
    clientId = serializers.CharField(source="client_id", read_only=True)
    iamId = serializers.CharField(source="iam_id", read_only=True)
    properties = serializers.SerializerMethodField()
    isSystem = serializers.BooleanField(source="is_system", read_only=True)
    suspended = serializers.BooleanField(read_only=True)
    locked = serializers.BooleanField(read_only=True)
    createdAt = serializers.DateTimeField(source="created", read_only=True)
    updatedAt = serializers.DateTimeField(source="updated", read_only=True)

    def get_properties(self, obj) -> ClientPropertiesOutSerializer:
        return properties_of(obj)


class ClientPutSerializer(StrictSerializer):
    properties = ClientPropertiesSerializer()
    roles = RoleKeysField(required=False, default=list)


class ClientPatchSerializer(StrictSerializer):
    properties = ClientPropertiesSerializer(required=False)
    roles = RoleKeysField(required=False)


class ClientRolesSerializer(StrictSerializer):
    roles = RoleKeysField()


class SecretCreateSerializer(StrictSerializer):
    expiresAt = serializers.DateTimeField(required=False, allow_null=True)


class SecretSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    prefix = serializers.CharField()
    createdAt = serializers.DateTimeField(source="created_at")
    expiresAt = serializers.DateTimeField(source="expires_at", allow_null=True)
    lastUsedAt = serializers.DateTimeField(source="last_used_at", allow_null=True)
    createdBy = serializers.CharField(source="created_by")


class NewSecretSerializer(serializers.Serializer):
    """The one response that carries a secret's value."""

    id = serializers.UUIDField()
    secret = serializers.CharField()
    prefix = serializers.CharField()
    createdAt = serializers.DateTimeField(source="created_at")
    expiresAt = serializers.DateTimeField(source="expires_at", allow_null=True)
