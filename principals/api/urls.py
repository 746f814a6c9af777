"""Routes of /resources/iam/principals and /resources/me (with their sessions)."""

from django.urls import path
from iam_project.routers import Router

from ..sessions.api import MeSessionsView, MeSessionView, PrincipalSessionsView, PrincipalSessionView
from .views import MePasswordView, MeView, PrincipalViewSet

router = Router()
router.register("iam/principals", PrincipalViewSet, basename="principal")

urlpatterns = [
    path("me", MeView.as_view(), name="me"),
    path("me/password", MePasswordView.as_view(), name="me-password"),
    path("me/sessions", MeSessionsView.as_view(), name="me-sessions"),
    path("me/sessions/<str:session_id>", MeSessionView.as_view(), name="me-session"),
    path("iam/principals/<str:pk>/sessions", PrincipalSessionsView.as_view(), name="principal-sessions"),
    path("iam/principals/<str:pk>/sessions/<str:session_id>", PrincipalSessionView.as_view(),
         name="principal-session"),
    *router.urls,
]
