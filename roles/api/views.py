"""/resources/iam/roles and POST /resources/iam/authorize."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from iam_project.api import IAMViewSet, expected_version
from iam_project.authcache import cached_identity, expect_identity_named_in

from .. import engine, services
from ..models import Role
from .serializers import AuthorizeRequestSerializer, AuthorizeResponseSerializer, RolePutSerializer, RoleSerializer

IF_MATCH = OpenApiParameter("If-Match", str, OpenApiParameter.HEADER, required=False)


class RoleViewSet(IAMViewSet):
    serializer_class = RoleSerializer
    queryset = Role.objects.all()
    lookup_field = "key"
    ordering = ("key",)
    permission_resource = "iam/roles"
    required_permissions = {
        "list": "iam/roles:read",
        "retrieve": "iam/roles:read",
        "update": "iam/roles:write",
        "destroy": "iam/roles:delete",
    }

    def get_object(self):
        role = Role.objects.filter(key=self.kwargs["key"]).first()
        if role is None:
            raise NotFound("No such role.")
        return role

    def list(self, request):
        queryset = Role.objects.all()
        prefix = request.query_params.get("keyPrefix")
        if prefix:
            queryset = queryset.filter(key__startswith=prefix)
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request, key=None):
        return self.respond(self.get_object())

    @extend_schema(request=RolePutSerializer, parameters=[IF_MATCH],
                   responses={200: RoleSerializer, 201: RoleSerializer})
    def update(self, request, key=None):
        data = self.validated(RolePutSerializer)
        if data.get("key", key) != key:
            raise ValidationError({"key": ["Must equal the key in the path."]})
        role, created = services.put_role(
            request.user, key, data.get("description", ""), [dict(e) for e in data["acl"]["entries"]],
            expected_version=expected_version(request),
        )
        return self.respond(role, status=201 if created else 200)

    @extend_schema(parameters=[IF_MATCH], responses={204: None})
    def destroy(self, request, key=None):
        services.delete_role(request.user, self.get_object(), expected_version=expected_version(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class AuthorizeView(APIView):
    """The check API: may identity X use permission P (on resource R, in context C)?"""

    required_permissions = {"post": "iam/authorize:read"}

    def initial(self, request, *args, **kwargs):
        expect_identity_named_in(request, "iamId")  # read with the caller's token: one round trip for both
        super().initial(request, *args, **kwargs)

    @extend_schema(request=AuthorizeRequestSerializer, responses=AuthorizeResponseSerializer)
    def post(self, request):
        serializer = AuthorizeRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        identity = cached_identity(data["iamId"])  # warm: no query
        if identity is None:
            decision = engine.Decision(False, "no such identity")
        else:
            decision = engine.decide(identity, data["permission"], resource=data.get("resource"),
                                     context=data.get("context") or {})
        return Response({"allowed": decision.allowed, "reason": decision.reason,
                         "role": decision.role, "binding": decision.binding})


