"""The base of every /resources/ viewset: strict input, ETags and If-Match, problem-details errors."""

from rest_framework import serializers, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from .errors import Conflict


class StrictSerializer(serializers.Serializer):
    """Refuses fields it does not know, so a typo is a 400 naming it rather than silently ignored."""

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise ValidationError({"nonFieldErrors": ["Expected a JSON object."]})
        writable = {name for name, field in self.fields.items() if not field.read_only}
        unknown = sorted(set(data) - writable)
        if unknown:
            raise ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)


def parse_uuid(value, field="id"):
    """A path or body value that must be a UUID; a 400 naming the field otherwise."""
    import uuid

    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise ValidationError({field: ["Must be a UUID."]}) from None


def etag_of(obj):
    return f'"{obj.version}"'


def expected_version(request):
    """The version named by If-Match: None when absent or '*', else an int; garbage cannot match."""
    header = request.headers.get("If-Match")
    if header is None or header.strip() == "*":
        return None
    tag = header.split(",")[0].strip()
    if tag.startswith("W/"):
        tag = tag[2:]
    tag = tag.strip('"')
    try:
        return int(tag)
    except ValueError:
        raise Conflict("If-Match does not name a version of this resource.") from None


class IAMViewSet(viewsets.GenericViewSet):
    """Thin viewsets: declare queryset, serializers, filters and ``required_permissions``; call a service."""

    lookup_value_regex = "[^/]+"

    def respond(self, obj, status=200, serializer_class=None, headers=None):
        serializer_class = serializer_class or self.get_serializer_class()
        response = Response(serializer_class(obj, context=self.get_serializer_context()).data,
                            status=status, headers=headers)
        if hasattr(obj, "version"):
            response["ETag"] = etag_of(obj)
        return response

    def validated(self, serializer_class, data=None, **kwargs):
        serializer = serializer_class(data=self.request.data if data is None else data,
                                      context=self.get_serializer_context(), **kwargs)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data
