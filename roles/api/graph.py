"""POST /resources/graph/query: the Hantera Graph query over identities (principals and clients)."""

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from iam_project.api import StrictSerializer
from iam_project.permissions import allowed, require

from .. import graph

RESOURCES = {"identity": graph.TYPES, "principal": ("principal",), "client": ("client",)}
READ = {"principal": "iam/principals:read", "client": "iam/clients:read"}


_SCALAR = [{"type": "string", "maxLength": 254}, {"type": "number"}, {"type": "boolean"}]


@extend_schema_field({"anyOf": [*_SCALAR, {"type": "array", "maxItems": 100, "items": {"anyOf": _SCALAR}}]})
class FilterValueField(serializers.JSONField):
    """Any JSON (checked by roles.graph per field and operator), documented as the scalars and lists it takes."""


class GraphFilterSerializer(StrictSerializer):
    field = serializers.CharField(help_text="roles, email, properties.<key>, suspended, type or createdAt.")
    op = serializers.ChoiceField(choices=graph.OPERATORS)
    value = FilterValueField(allow_null=True, help_text=(
        "A string, number, boolean or null; a list for 'in'; ISO 8601 for createdAt (see docs/api.md)."))


class GraphQuerySerializer(StrictSerializer):
    resource = serializers.ChoiceField(choices=tuple(RESOURCES), default="identity")
    # Then checked by roles.graph against each field's operators and values (errors name e.g. filters[0].value).
    # At most 20 (roles.graph says so, naming the field); no maxItems in the schema: Schemathesis' coverage phase
    # draws a full-length list of filter objects and fails intermittently inside Hypothesis doing so.
    filters = serializers.ListField(child=GraphFilterSerializer(), required=False, default=list)
    limit = serializers.IntegerField(min_value=1, max_value=500, default=50)
    cursor = serializers.CharField(required=False, allow_null=True, max_length=2000)


class GraphIdentitySerializer(serializers.Serializer):
    id = serializers.UUIDField(source="pk")
    iamId = serializers.CharField(source="iam_id")
    type = serializers.CharField(source="identity_type")
    email = serializers.EmailField(allow_null=True, default=None)
    name = serializers.SerializerMethodField()
    roles = serializers.SerializerMethodField()
    properties = serializers.DictField()
    suspended = serializers.BooleanField()
    createdAt = serializers.SerializerMethodField()

    def get_name(self, obj) -> str:
        if obj.identity_type == "client":
            return obj.name
        return obj.display_name

    def get_roles(self, obj) -> list[str]:
        return sorted({binding.role.key for binding in getattr(obj, "current_bindings", [])})

    def get_createdAt(self, obj) -> str:
        created = obj.created_at if obj.identity_type == "principal" else obj.created
        return serializers.DateTimeField().to_representation(created)


class GraphResultSerializer(serializers.Serializer):
    results = GraphIdentitySerializer(many=True)
    cursor = serializers.CharField(allow_null=True, help_text="Pass it back (same query) for the next page; null at the end.")


class GraphQueryView(APIView):
    """Identities matching every filter, a page at a time. Principals need iam/principals:read, clients
    iam/clients:read: ``identity`` covers the types the caller may read (403 when none)."""

    required_permissions = {"post": None}  # checked per identity type below

    @extend_schema(request=GraphQuerySerializer, responses=GraphResultSerializer)
    def post(self, request):
        serializer = GraphQuerySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            filters = graph.parse_filters(data["filters"])
        except graph.QueryError as exc:
            raise ValidationError(exc.errors) from None
        wanted = RESOURCES[data["resource"]]
        if data["resource"] == "identity":
            types = [kind for kind in wanted if allowed(request, READ[kind]).allowed]
            if not types:
                require(request, READ["principal"])
        else:
            require(request, READ[wanted[0]])
            types = list(wanted)
        fingerprint = graph.query_fingerprint(data["resource"], filters) + ",".join(types)
        try:
            found, cursor = graph.query(filters, types, limit=data["limit"], cursor=data.get("cursor"),
                                        fingerprint=fingerprint)
        except graph.QueryError as exc:
            raise ValidationError(exc.errors) from None
        return Response(GraphResultSerializer({"results": found, "cursor": cursor}).data)
