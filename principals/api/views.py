"""/resources/iam/principals and /resources/me: validate, call a service, serialize."""

from django.contrib.auth import get_user_model
from django.db.models import Prefetch
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from iam_project.api import IAMViewSet, expected_version, parse_uuid
from roles import engine
from roles.models import RoleBinding
from roles.services import role_keys

from .. import services
from ..filtersets import PrincipalFilterSet
from .serializers import (
    MeSerializer,
    PasswordChangeSerializer,
    PasswordResetResultSerializer,
    PrincipalPatchSerializer,
    PrincipalPutSerializer,
    PrincipalRolesSerializer,
    PrincipalSerializer,
)

IF_MATCH = OpenApiParameter("If-Match", str, OpenApiParameter.HEADER, required=False,
                            description="ETag from a GET; a stale one gets 409 and changes nothing.")


class PrincipalViewSet(IAMViewSet):
    serializer_class = PrincipalSerializer
    filterset_class = PrincipalFilterSet
    ordering = ("email",)
    permission_resource = "iam/principals"
    required_permissions = {
        "list": "iam/principals:read",
        "retrieve": "iam/principals:read",
        "update": "iam/principals:write",
        "partial_update": "iam/principals:write",
        "roles": "iam/principals:write",
        "suspend": "iam/principals:write",
        "unsuspend": "iam/principals:write",
        "password_reset": "iam/principals:write",
        "destroy": "iam/principals:delete",
    }

    def get_queryset(self):
        current = RoleBinding.objects.current(timezone.now()).select_related("role")
        return get_user_model().objects.prefetch_related(
            Prefetch("bindings", queryset=current, to_attr="current_bindings")
        )

    def get_object(self):
        pk = parse_uuid(self.kwargs["pk"])
        obj = self.get_queryset().filter(pk=pk).first()
        if obj is None:
            raise NotFound("No such principal.")
        return obj

    def _fresh(self, principal):
        return self.get_queryset().get(pk=principal.pk)

    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request, pk=None):
        return self.respond(self.get_object())

    @extend_schema(request=PrincipalPutSerializer, parameters=[IF_MATCH],
                   responses={200: PrincipalSerializer, 201: PrincipalSerializer})
    def update(self, request, pk=None):
        pk = parse_uuid(pk)
        data = self.validated(PrincipalPutSerializer)
        principal, created = services.put_principal(
            request.user, pk, data["email"], data["properties"], data["roles"],
            password=data.get("password"), version=expected_version(request),
        )
        return self.respond(self._fresh(principal), status=201 if created else 200)

    @extend_schema(request=PrincipalPatchSerializer, parameters=[IF_MATCH], responses=PrincipalSerializer)
    def partial_update(self, request, pk=None):
        data = self.validated(PrincipalPatchSerializer)
        principal = services.update_principal(request.user, parse_uuid(pk), version=expected_version(request), **data)
        return self.respond(self._fresh(principal))

    @extend_schema(parameters=[IF_MATCH], responses={204: None})
    def destroy(self, request, pk=None):
        services.delete_principal(request.user, parse_uuid(pk), version=expected_version(request))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=PrincipalRolesSerializer, parameters=[IF_MATCH], responses=PrincipalSerializer)
    @action(detail=True, methods=["put"])
    def roles(self, request, pk=None):
        data = self.validated(PrincipalRolesSerializer)
        principal = services.set_roles(request.user, parse_uuid(pk), data["roles"], version=expected_version(request))
        return self.respond(self._fresh(principal))

    @extend_schema(request=None, parameters=[IF_MATCH], responses=PrincipalSerializer)
    @action(detail=True, methods=["post"])
    def suspend(self, request, pk=None):
        principal = services.suspend_principal(request.user, parse_uuid(pk), version=expected_version(request))
        return self.respond(self._fresh(principal))

    @extend_schema(request=None, parameters=[IF_MATCH], responses=PrincipalSerializer)
    @action(detail=True, methods=["post"])
    def unsuspend(self, request, pk=None):
        principal = services.unsuspend_principal(request.user, parse_uuid(pk), version=expected_version(request))
        return self.respond(self._fresh(principal))

    @extend_schema(request=None, responses={202: PasswordResetResultSerializer})
    @action(detail=True, methods=["post"], url_path="password/reset")
    def password_reset(self, request, pk=None):
        principal = services.request_password_reset(request.user, parse_uuid(pk))
        return Response(
            {"status": "queued", "detail": f"A temporary password is being mailed to {principal.email}."},
            status=status.HTTP_202_ACCEPTED,
        )


class MeView(APIView):
    """Who am I: the calling identity, its roles and its effective permissions."""

    required_permissions = {"*": None}
    allow_pending_password = True

    @extend_schema(responses=MeSerializer)
    def get(self, request):
        identity = request.user
        context = {"ip": getattr(request._request, "client_ip", None)}
        data = {
            "id": identity.pk,
            "iam_id": identity.iam_id,
            "identity_type": identity.identity_type,
            "roles": role_keys(identity),
            "permissions": engine.permissions_of(identity, context),
        }
        if identity.identity_type == "principal":
            data.update(email=identity.email, must_change_password=identity.must_change_password)
        return Response(MeSerializer(data).data)


class MePasswordView(APIView):
    """Change one's own password (the current one is required)."""

    required_permissions = {"*": None}
    allow_pending_password = True

    @extend_schema(request=PasswordChangeSerializer, responses={204: None})
    def post(self, request):
        if request.user.identity_type != "principal":
            raise ValidationError({"nonFieldErrors": ["Only principals have passwords."]})
        serializer = PasswordChangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        principal = services.change_own_password(
            request.user, serializer.validated_data["currentPassword"], serializer.validated_data["newPassword"]
        )
        # Keep the console session alive when the change was made from it.
        from django.contrib.auth import update_session_auth_hash

        if hasattr(request._request, "session") and request._request.user.is_authenticated:
            update_session_auth_hash(request._request, principal)
        return Response(status=status.HTTP_204_NO_CONTENT)

