"""Routes of /resources/iam/principals and /resources/me."""

from django.urls import path
from iam_project.routers import Router

from .views import MePasswordView, MeView, PrincipalViewSet

router = Router()
router.register("iam/principals", PrincipalViewSet, basename="principal")

urlpatterns = [
    path("me", MeView.as_view(), name="me"),
    path("me/password", MePasswordView.as_view(), name="me-password"),
    *router.urls,
]
