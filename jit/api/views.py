"""/resources/jit/eligibilities and /resources/jit/requests: validate, call a service, serialize."""

from django.db.models import Prefetch
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from iam_project.api import IAMViewSet, expected_version, parse_uuid
from iam_project.identity import find_identity
from iam_project.permissions import allowed, require
from roles.models import Role

from .. import services
from ..choices import RequestStatusChoices
from ..models import AccessRequest, Approval, Eligibility
from .serializers import (
    AccessRequestInputSerializer,
    AccessRequestSerializer,
    DecisionSerializer,
    EligibilityInputSerializer,
    EligibilitySerializer,
)

IF_MATCH = OpenApiParameter("If-Match", str, OpenApiParameter.HEADER, required=False)


def _role(key, field="role"):
    role = Role.objects.filter(key=key).first()
    if role is None:
        raise ValidationError({field: [f"Unknown role: {key}."]})
    return role


class EligibilityViewSet(IAMViewSet):
    serializer_class = EligibilitySerializer
    ordering = ("created_at", "id")
    required_permissions = {
        "list": "jit/eligibilities:read",
        "retrieve": "jit/eligibilities:read",
        "*": "jit/eligibilities:write",
    }

    def get_queryset(self):
        return Eligibility.objects.select_related("role", "held_role", "approver_role", "principal", "client")

    def get_object(self):
        obj = self.get_queryset().filter(pk=parse_uuid(self.kwargs["pk"])).first()
        if obj is None:
            raise NotFound("No such eligibility.")
        return obj

    def _fill(self, eligibility, data):
        subject = None
        if data.get("iamId"):
            subject = find_identity(data["iamId"])
            if subject is None:
                raise ValidationError({"iamId": ["No principal or client has this iamId."]})
        eligibility.principal = subject if subject is not None and subject.identity_type == "principal" else None
        eligibility.client = subject if subject is not None and subject.identity_type == "client" else None
        eligibility.held_role = _role(data["heldRole"], "heldRole") if data.get("heldRole") else None
        eligibility.role = _role(data["role"])
        eligibility.scope = data.get("scope") or ""
        eligibility.max_duration = data["maxDuration"]
        eligibility.approval_required = data["approvalRequired"]
        eligibility.approver_role = _role(data["approverRole"], "approverRole") if data.get("approverRole") else None
        eligibility.approvals_required = data["approvalsRequired"]
        eligibility.justification_required = data["justificationRequired"]
        return eligibility

    def list(self, request):
        queryset = self.get_queryset()
        role = request.query_params.get("role")
        if role:
            queryset = queryset.filter(role__key=role)
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request, pk=None):
        return self.respond(self.get_object())

    @extend_schema(request=EligibilityInputSerializer, responses={201: EligibilitySerializer})
    def create(self, request):
        data = self.validated(EligibilityInputSerializer)
        eligibility = services.save_eligibility(request.user, self._fill(Eligibility(), data))
        return self.respond(self.get_queryset().get(pk=eligibility.pk), status=201)

    @extend_schema(request=EligibilityInputSerializer, parameters=[IF_MATCH], responses=EligibilitySerializer)
    def update(self, request, pk=None):
        data = self.validated(EligibilityInputSerializer)
        eligibility = self.get_object()
        services.save_eligibility(request.user, self._fill(eligibility, data), replacing=True,
                                  version=expected_version(request))
        return self.respond(self.get_queryset().get(pk=eligibility.pk))

    @extend_schema(parameters=[IF_MATCH], responses={204: None})
    def destroy(self, request, pk=None):
        services.delete_eligibility(request.user, parse_uuid(pk), expected_version(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class AccessRequestViewSet(IAMViewSet):
    """Anyone signed in may ask (their eligibility decides) and see their own requests; deciding,
    and seeing others' requests, need jit/requests:approve or jit/requests:read."""

    serializer_class = AccessRequestSerializer
    ordering = ("-created_at", "id")
    required_permissions = {
        "list": None, "retrieve": None, "create": None, "cancel": None, "revoke": None,
        "approve": "jit/requests:approve", "deny": "jit/requests:approve",
    }

    def get_queryset(self):
        return AccessRequest.objects.select_related("role").prefetch_related(
            Prefetch("approvals", queryset=Approval.objects.order_by("at", "id")))

    def _response(self, pk, status_code=200):
        return Response(AccessRequestSerializer(self.get_queryset().get(pk=pk)).data, status=status_code)

    @extend_schema(parameters=[
        OpenApiParameter("view", str, enum=["mine", "approvable", "all"], default="mine"),
        OpenApiParameter("status", str, enum=RequestStatusChoices.values),
        OpenApiParameter("role", str), OpenApiParameter("requester", str),
    ])
    def list(self, request):
        view = request.query_params.get("view", "mine")
        queryset = self.get_queryset()
        if view == "mine":
            queryset = queryset.filter(requester_iam_id=request.user.iam_id)
        elif view == "approvable":
            require(request, "jit/requests:approve")
            queryset = queryset.filter(status=RequestStatusChoices.PENDING).exclude(
                requester_iam_id=request.user.iam_id)
            approvable = [r.pk for r in queryset if _may_decide(request.user, r)]
            queryset = self.get_queryset().filter(pk__in=approvable)
        elif view == "all":
            require(request, "jit/requests:read")
        else:
            raise ValidationError({"view": ["Must be one of: mine, approvable, all."]})
        status_filter = request.query_params.get("status")
        if status_filter:
            if status_filter not in RequestStatusChoices.values:
                raise ValidationError({"status": [f"Must be one of: {', '.join(RequestStatusChoices.values)}."]})
            queryset = queryset.filter(status=status_filter)
        if request.query_params.get("role"):
            queryset = queryset.filter(role__key=request.query_params["role"])
        if request.query_params.get("requester"):
            queryset = queryset.filter(requester_iam_id=request.query_params["requester"])
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(AccessRequestSerializer(page, many=True).data)

    def retrieve(self, request, pk=None):
        access_request = self.get_queryset().filter(pk=parse_uuid(pk)).first()
        if access_request is None:
            raise NotFound("No such access request.")
        if not access_request.is_requester(request.user):
            if not (allowed(request, "jit/requests:read").allowed or allowed(request, "jit/requests:approve").allowed):
                require(request, "jit/requests:read")
        return Response(AccessRequestSerializer(access_request).data)

    @extend_schema(request=AccessRequestInputSerializer, responses={201: AccessRequestSerializer})
    def create(self, request):
        data = self.validated(AccessRequestInputSerializer)
        access_request = services.request_access(request.user, _role(data["role"]), data["duration"],
                                                 justification=data["justification"], scope=data["scope"])
        return self._response(access_request.pk, 201)

    def _decision(self, request, pk, operation):
        data = self.validated(DecisionSerializer, data=request.data or {})
        access_request = operation(request.user, parse_uuid(pk), comment=data["comment"])
        return self._response(access_request.pk)

    @extend_schema(request=DecisionSerializer, responses=AccessRequestSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        return self._decision(request, pk, services.approve)

    @extend_schema(request=DecisionSerializer, responses=AccessRequestSerializer)
    @action(detail=True, methods=["post"])
    def deny(self, request, pk=None):
        return self._decision(request, pk, services.deny)

    @extend_schema(request=DecisionSerializer, responses=AccessRequestSerializer)
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        return self._decision(request, pk, services.revoke)

    @extend_schema(request=None, responses=AccessRequestSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        access_request = services.cancel(request.user, parse_uuid(pk))
        return self._response(access_request.pk)


def _may_decide(identity, access_request):
    try:
        services._ensure_can_decide(identity, access_request)
    except Exception:  # noqa: BLE001 — a refusal of any kind
        return False
    return True
