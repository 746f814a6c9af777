"""/resources/me/mfa, /resources/iam/principals/{id}/mfa/reset and /resources/iam/mfa/policy: validate, call a
service, serialize."""

from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from iam_project.api import expected_version, parse_uuid

from .. import services
from .serializers import MfaPolicyPatchSerializer, MfaPolicySerializer, MfaResetSerializer, MfaStatusSerializer


class MeMfaView(APIView):
    """One's own second factors and whether they meet the policy (never a secret or a code)."""

    required_permissions = {"*": None}

    @extend_schema(responses=MfaStatusSerializer)
    def get(self, request):
        if request.user.identity_type != "principal":
            raise ValidationError({"nonFieldErrors": ["Only principals have second factors."]})
        return Response(MfaStatusSerializer(services.status(request.user)).data)


class PrincipalMfaResetView(APIView):
    """An administrator removes every second factor of someone else (lost phone or key): needs
    iam/principals:write on them, managing everything they can obtain, and a recent second factor."""

    required_permissions = {"post": "iam/principals:write"}
    permission_resource = "iam/principals"
    lookup_url_kwarg = "pk"

    @extend_schema(request=None, responses=MfaResetSerializer)
    def post(self, request, pk):
        pk = parse_uuid(pk)
        if not get_user_model().objects.filter(pk=pk).exists():
            raise NotFound("No such principal.")
        _principal, removed = services.reset_factors(request.user, pk)
        return Response(MfaResetSerializer(removed).data)


class MfaPolicyView(APIView):
    """Who must sign in with a second factor (one setting, also the IBM face's account ``mfa``)."""

    required_permissions = {"get": "iam/mfa:read", "patch": "iam/mfa:write"}

    def respond(self, row):
        response = Response(MfaPolicySerializer(row).data)
        response["ETag"] = f'"{row.version}"'
        return response

    @extend_schema(responses=MfaPolicySerializer)
    def get(self, request):
        return self.respond(services.policy())

    @extend_schema(request=MfaPolicyPatchSerializer, responses=MfaPolicySerializer)
    def patch(self, request):
        serializer = MfaPolicyPatchSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        row = services.set_policy(request.user, level=data.get("level"), required_roles=data.get("required_roles"),
                                  version=expected_version(request), field_names={"level": "level"})
        return self.respond(row)
