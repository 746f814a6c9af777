"""Access answers on the API: an identity's effective access, "check access" and "who holds a permission".

Who may ask: the answers read an identity and its bindings, so each needs what reading that identity
needs (``iam/principals:read`` / ``iam/clients:read`` on it, scoped bindings honoured), plus
``iam/roles:read`` to see the roles' entries (effective access) or ``iam/authorize:read`` — what the
check API requires — to ask the engine about another identity (check, holders). The holders list
leaves out every identity the asker may not read.
"""

from django.contrib.auth import get_user_model
from drf_spectacular.utils import OpenApiParameter, extend_schema
from oauth2_provider.models import get_application_model
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from iam_project.api import StrictSerializer, parse_uuid
from iam_project.permissions import allowed, require

from .. import explain
from ..permissions import split_permission

KINDS = {"principal": "iam/principals", "client": "iam/clients"}


def identity_resource(identity_type, pk):
    return f"{KINDS[identity_type]}/{pk}"


def readable(request):
    """``readable(identity)``: may the request's identity read that principal or client?"""

    def check(identity):
        resource = KINDS[identity.identity_type]
        return allowed(request, f"{resource}:read", resource=f"{resource}/{identity.pk}").allowed

    return check


def parse_iam_id(value):
    """'iam-Principal-<uuid>' -> ('principal', UUID); a 400 naming iamId otherwise."""
    for identity_type, model in (("principal", get_user_model()), ("client", get_application_model())):
        if value.startswith(model.iam_id_prefix):
            return identity_type, parse_uuid(value[len(model.iam_id_prefix):], field="iamId")
    raise ValidationError({"iamId": ["Not the iam id of a principal or a client."]})


# --- serializers ------------------------------------------------------------------------------------

class ContextSerializer(StrictSerializer):
    ip = serializers.IPAddressField(required=False, allow_null=True)
    time = serializers.DateTimeField(required=False, allow_null=True)


class PermissionField(serializers.CharField):
    def __init__(self, **kwargs):
        super().__init__(max_length=300, **kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        try:
            split_permission(value)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None
        return value


class SourceSerializer(serializers.Serializer):
    permission = serializers.CharField()
    role = serializers.CharField(allow_null=True)
    binding = serializers.CharField(allow_null=True)
    source = serializers.CharField(help_text="direct, policy, jit, or delegation (an object permission).")
    scope = serializers.CharField(allow_blank=True)
    conditions = serializers.DictField()
    startsAt = serializers.DateTimeField(source="starts_at", allow_null=True)
    expiresAt = serializers.DateTimeField(source="expires_at", allow_null=True)
    inForce = serializers.BooleanField(source="in_force")
    reason = serializers.CharField(allow_null=True, help_text="Why it is not in force now (null when it is).")


class EffectiveAccessSerializer(serializers.Serializer):
    iamId = serializers.CharField()
    type = serializers.CharField()
    suspended = serializers.BooleanField()
    permissions = SourceSerializer(many=True)


class CheckRequestSerializer(StrictSerializer):
    iamId = serializers.CharField(max_length=64)
    permission = PermissionField()
    resource = serializers.CharField(max_length=500, required=False, allow_null=True, allow_blank=True)
    context = ContextSerializer(required=False)


class CheckResponseSerializer(serializers.Serializer):
    iamId = serializers.CharField()
    permission = serializers.CharField()
    resource = serializers.CharField(allow_null=True)
    allowed = serializers.BooleanField()
    reason = serializers.CharField()
    role = serializers.CharField(allow_null=True)
    binding = serializers.CharField(allow_null=True)


class HoldersRequestSerializer(StrictSerializer):
    permission = PermissionField()
    resource = serializers.CharField(max_length=500, required=False, allow_null=True, allow_blank=True)
    context = ContextSerializer(required=False)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=500, default=100)


class HolderSerializer(serializers.Serializer):
    iamId = serializers.CharField()
    type = serializers.CharField()
    name = serializers.CharField()
    allowed = serializers.BooleanField(help_text="The engine's decision now (or at context.time, from context.ip).")
    reason = serializers.CharField()
    via = SourceSerializer(many=True)


class HoldersResponseSerializer(serializers.Serializer):
    permission = serializers.CharField()
    resource = serializers.CharField(allow_null=True)
    truncated = serializers.BooleanField(help_text="More holders exist than ``limit``.")
    holders = HolderSerializer(many=True)


def _context(data):
    context = data.get("context") or {}
    return context.get("ip"), context.get("time")


def _name(identity):
    return str(getattr(identity, "email", None) or getattr(identity, "name", "") or identity.iam_id)


# --- views ------------------------------------------------------------------------------------------

CONTEXT_PARAMS = [
    OpenApiParameter("ip", str, description="Judge IP-range conditions from this address."),
    OpenApiParameter("time", str, description="Judge expiry and time windows at this moment (ISO 8601)."),
]


class EffectiveAccessView(APIView):
    """GET /resources/iam/{principals|clients}/{id}/access: each permission and where it comes from."""

    identity_type = None
    required_permissions = {"get": "iam/roles:read"}

    @extend_schema(parameters=CONTEXT_PARAMS, responses=EffectiveAccessSerializer)
    def get(self, request, pk):
        pk = parse_uuid(pk)
        query = ContextSerializer(data={k: v for k, v in request.query_params.items() if k in ("ip", "time")})
        query.is_valid(raise_exception=True)
        resource = KINDS[self.identity_type]
        require(request, f"{resource}:read", resource=f"{resource}/{pk}")
        identity = explain.find(self.identity_type, pk)
        if identity is None:
            raise NotFound(f"No such {self.identity_type}.")
        context = {"ip": query.validated_data.get("ip"), "time": query.validated_data.get("time")}
        data = {"iamId": identity.iam_id, "type": identity.identity_type, "suspended": identity.suspended,
                "permissions": explain.effective_access(identity, context)}
        return Response(EffectiveAccessSerializer(data).data)


class CheckAccessView(APIView):
    """POST /resources/iam/access/check: may this identity use this permission (on this resource, from
    this address, at this time)? The engine's decision and its reason."""

    required_permissions = {"post": "iam/authorize:read"}

    @extend_schema(request=CheckRequestSerializer, responses=CheckResponseSerializer)
    def post(self, request):
        serializer = CheckRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        identity_type, pk = parse_iam_id(data["iamId"])
        resource = KINDS[identity_type]
        require(request, f"{resource}:read", resource=f"{resource}/{pk}")
        identity = explain.find(identity_type, pk)
        if identity is None:
            raise NotFound("No such identity.")
        ip, at = _context(data)
        decision = explain.check(identity, data["permission"], data.get("resource") or None, ip=ip, at=at)
        return Response(CheckResponseSerializer({
            "iamId": identity.iam_id, "permission": data["permission"], "resource": data.get("resource") or None,
            "allowed": decision.allowed, "reason": decision.reason, "role": decision.role,
            "binding": decision.binding,
        }).data)


class HoldersView(APIView):
    """POST /resources/iam/access/holders: who holds this permission (on this resource), and through what."""

    required_permissions = {"post": "iam/authorize:read"}

    @extend_schema(request=HoldersRequestSerializer, responses=HoldersResponseSerializer)
    def post(self, request):
        serializer = HoldersRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        ip, at = _context(data)
        found, truncated = explain.holders(data["permission"], data.get("resource") or None, ip=ip, at=at,
                                           readable=readable(request), limit=data["limit"])
        return Response(HoldersResponseSerializer({
            "permission": data["permission"], "resource": data.get("resource") or None, "truncated": truncated,
            "holders": [{"iamId": h.identity.iam_id, "type": h.identity.identity_type, "name": _name(h.identity),
                         "allowed": h.decision.allowed, "reason": h.decision.reason, "via": h.via} for h in found],
        }).data)
