"""/resources/audit/events: list (newest first), one event, and the streaming export."""

import uuid

from django.http import StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.decorators import action
from rest_framework.negotiation import DefaultContentNegotiation

from iam_project.api import IAMViewSet

from ..export import FORMATS, stream
from ..filtersets import AuditEventFilterSet
from ..models import AuditEvent
from .serializers import AuditEventSerializer


class IgnoreFormatParameter(DefaultContentNegotiation):
    """``?format=`` names the export format here, not a DRF renderer."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class AuditEventViewSet(IAMViewSet):
    serializer_class = AuditEventSerializer
    queryset = AuditEvent.objects.all()
    filterset_class = AuditEventFilterSet
    lookup_field = "uuid"
    lookup_url_kwarg = "id"
    ordering = ("-seq",)
    permission_resource = "audit/events"
    required_permissions = {"*": "audit/events:read"}

    def get_content_negotiator(self):
        if getattr(self, "action", None) == "export":
            return IgnoreFormatParameter()
        return super().get_content_negotiator()

    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request, id=None):
        try:
            event = AuditEvent.objects.get(uuid=uuid.UUID(str(id)))
        except (AuditEvent.DoesNotExist, ValueError):
            raise NotFound("No such audit event.") from None
        return self.respond(event)

    @extend_schema(
        parameters=[OpenApiParameter("format", str, enum=[*FORMATS], default="ndjson")],
        responses={(200, media_type.split(";")[0]): OpenApiResponse(OpenApiTypes.BINARY,
                                                                     description="NDJSON or CSV (?format=), oldest first")
                   for fmt, media_type in FORMATS.items()},
    )
    @action(detail=False, methods=["get"])
    def export(self, request):
        fmt = request.query_params.get("format", "ndjson")
        if fmt not in FORMATS:
            raise ValidationError({"format": [f"Must be one of: {', '.join(FORMATS)}."]})
        queryset = self.filter_queryset(self.get_queryset())
        response = StreamingHttpResponse(stream(queryset, fmt), content_type=FORMATS[fmt])
        stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
        response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.{fmt}"'
        return response
