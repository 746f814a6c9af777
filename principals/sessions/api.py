"""/resources/me/sessions and /resources/iam/principals/{id}/sessions: list and revoke sessions and OAuth grants."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from iam_project.api import parse_uuid
from iam_project.permissions import require

from . import services


class SessionSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="The session's id here (never its cookie or token value).")
    type = serializers.CharField(help_text="signIn, accessToken or refreshToken.")
    createdAt = serializers.DateTimeField(source="created_at")
    expiresAt = serializers.DateTimeField(source="expires_at", allow_null=True)
    ip = serializers.CharField(allow_null=True)
    userAgent = serializers.CharField(source="user_agent", allow_blank=True)
    clientId = serializers.CharField(source="client_id", allow_null=True)
    clientName = serializers.CharField(source="client_name", allow_null=True)
    scopes = serializers.ListField(child=serializers.CharField())
    current = serializers.BooleanField(help_text="The session or token this request came with.")


class SessionListSerializer(serializers.Serializer):
    results = SessionSerializer(many=True)


def _current(request):
    """(session key, access token) the request is made with: one of them, the other None."""
    token = request.auth if hasattr(request.auth, "scope") else None
    session = getattr(request._request, "session", None)
    return (session.session_key if session is not None and token is None else None), token


def _listing(request, principal):
    current_key, token = _current(request)
    entries = services.list_sessions(principal, current_session_key=current_key, current_token=token)
    return Response(SessionListSerializer({"results": entries}).data)


def _own_principal(request):
    if request.user.identity_type != "principal":
        raise ValidationError({"nonFieldErrors": ["Only principals have sign-in sessions."]})
    return request.user


class MeSessionsView(APIView):
    """My active sign-in sessions and OAuth grants."""

    required_permissions = {"*": None}

    @extend_schema(responses=SessionListSerializer)
    def get(self, request):
        return _listing(request, _own_principal(request))


class MeSessionView(APIView):
    """End one of my sessions or grants (the next request made with it is refused)."""

    required_permissions = {"*": None}

    @extend_schema(responses={204: None})
    def delete(self, request, session_id):
        principal = _own_principal(request)
        current_key, token = _current(request)
        services.revoke_session(request.user, principal.pk, session_id, current_key, token)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PrincipalSessionsView(APIView):
    """A principal's active sign-in sessions and OAuth grants (reading the principal: iam/principals:read)."""

    required_permissions = {"get": None}  # on the principal named in the path, below

    @extend_schema(responses=SessionListSerializer)
    def get(self, request, pk):
        from django.contrib.auth import get_user_model

        from iam_project.errors import NotFound

        pk = parse_uuid(pk)
        require(request, "iam/principals:read", resource=f"iam/principals/{pk}")
        principal = get_user_model().objects.filter(pk=pk).first()
        if principal is None:
            raise NotFound("No such principal.")
        return _listing(request, principal)


class PrincipalSessionView(APIView):
    """End one session or grant of a principal: iam/principals:write on it, and managing it (least privilege)."""

    required_permissions = {"delete": None}  # on the principal named in the path, below

    @extend_schema(responses={204: None})
    def delete(self, request, pk, session_id):
        pk = parse_uuid(pk)
        require(request, "iam/principals:write", resource=f"iam/principals/{pk}")
        current_key, token = _current(request)
        services.revoke_session(request.user, pk, session_id, current_key, token)
        return Response(status=status.HTTP_204_NO_CONTENT)
