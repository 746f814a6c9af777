"""/resources/iam/clients: clients, their roles, suspension and secrets. Validate, call a service, serialize."""

from django.db.models import Prefetch
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from oauth2_provider.models import get_application_model
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from iam_project.api import IAMViewSet, expected_version, parse_uuid
from roles.models import RoleBinding

from .. import services
from ..filtersets import ClientFilterSet
from ..models import ClientSecret
from .serializers import (
    ClientPatchSerializer,
    ClientPutSerializer,
    ClientRolesSerializer,
    ClientSerializer,
    NewSecretSerializer,
    SecretCreateSerializer,
    SecretSerializer,
)

IF_MATCH = OpenApiParameter("If-Match", str, OpenApiParameter.HEADER, required=False)


class ClientViewSet(IAMViewSet):
    serializer_class = ClientSerializer
    filterset_class = ClientFilterSet
    ordering = ("name", "id")
    permission_resource = "iam/clients"
    required_permissions = {
        "list": "iam/clients:read",
        "retrieve": "iam/clients:read",
        "update": "iam/clients:write",
        "partial_update": "iam/clients:write",
        "roles": "iam/clients:write",
        "suspend": "iam/clients:write",
        "unsuspend": "iam/clients:write",
        "secrets": "iam/clients:write",
        "secret": "iam/clients:write",
        "destroy": "iam/clients:delete",
    }

    def get_queryset(self):
        current = RoleBinding.objects.current(timezone.now()).select_related("role")
        return get_application_model().objects.prefetch_related(
            Prefetch("bindings", queryset=current, to_attr="current_bindings")
        )

    def get_object(self):
        obj = self.get_queryset().filter(pk=parse_uuid(self.kwargs["pk"])).first()
        if obj is None:
            raise NotFound("No such client.")
        return obj

    def _fresh(self, client):
        return self.get_queryset().get(pk=client.pk)

    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request, pk=None):
        return self.respond(self.get_object())

    @extend_schema(request=ClientPutSerializer, parameters=[IF_MATCH],
                   responses={200: ClientSerializer, 201: ClientSerializer})
    def update(self, request, pk=None):
        data = self.validated(ClientPutSerializer)
        client, created = services.put_client(request.user, parse_uuid(pk), dict(data["properties"]), data["roles"],
                                              version=expected_version(request))
        return self.respond(self._fresh(client), status=201 if created else 200)

    @extend_schema(request=ClientPatchSerializer, parameters=[IF_MATCH], responses=ClientSerializer)
    def partial_update(self, request, pk=None):
        data = self.validated(ClientPatchSerializer, partial=True)
        client = services.update_client(request.user, parse_uuid(pk), version=expected_version(request),
                                        properties=dict(data.get("properties") or {}), roles=data.get("roles"))
        return self.respond(self._fresh(client))

    @extend_schema(parameters=[IF_MATCH], responses={204: None})
    def destroy(self, request, pk=None):
        services.delete_client(request.user, parse_uuid(pk), version=expected_version(request))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=ClientRolesSerializer, parameters=[IF_MATCH], responses=ClientSerializer)
    @action(detail=True, methods=["put"])
    def roles(self, request, pk=None):
        data = self.validated(ClientRolesSerializer)
        client = services.set_client_roles(request.user, parse_uuid(pk), data["roles"],
                                           version=expected_version(request))
        return self.respond(self._fresh(client))

    @extend_schema(request=None, parameters=[IF_MATCH], responses=ClientSerializer)
    @action(detail=True, methods=["post"])
    def suspend(self, request, pk=None):
        client = services.set_client_suspended(request.user, parse_uuid(pk), True, version=expected_version(request))
        return self.respond(self._fresh(client))

    @extend_schema(request=None, parameters=[IF_MATCH], responses=ClientSerializer)
    @action(detail=True, methods=["post"])
    def unsuspend(self, request, pk=None):
        client = services.set_client_suspended(request.user, parse_uuid(pk), False, version=expected_version(request))
        return self.respond(self._fresh(client))

    @extend_schema(methods=["GET"], request=None, responses=SecretSerializer(many=True))
    @extend_schema(methods=["POST"], request=SecretCreateSerializer, responses={201: NewSecretSerializer})
    @action(detail=True, methods=["get", "post"], pagination_class=None, filter_backends=[])
    def secrets(self, request, pk=None):
        """GET lists the secrets (never their values); POST makes one and shows its value once."""
        if request.method == "GET":
            client = self.get_object()
            return Response(SecretSerializer(ClientSecret.objects.filter(client=client), many=True).data)
        data = self.validated(SecretCreateSerializer)
        secret, value = services.create_secret(request.user, parse_uuid(pk), expires_at=data.get("expiresAt"))
        body = NewSecretSerializer({"id": secret.id, "secret": value, "prefix": secret.prefix,
                                    "created_at": secret.created_at, "expires_at": secret.expires_at}).data
        response = Response(body, status=status.HTTP_201_CREATED)
        response["Cache-Control"] = "no-store"
        return response

    @extend_schema(request=None, responses={204: None})
    @action(detail=True, methods=["delete"], url_path=r"secrets/(?P<secret_id>[^/]+)")
    def secret(self, request, pk=None, secret_id=None):
        services.revoke_secret(request.user, parse_uuid(pk), parse_uuid(secret_id, "secretId"))
        return Response(status=status.HTTP_204_NO_CONTENT)
