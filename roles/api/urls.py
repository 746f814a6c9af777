"""Routes of /resources/iam/roles and /resources/iam/authorize."""

from django.urls import path
from iam_project.routers import Router

from .views import AuthorizeView, RoleViewSet

router = Router()
router.register("iam/roles", RoleViewSet, basename="role")

urlpatterns = [
    path("iam/authorize", AuthorizeView.as_view(), name="authorize"),
    *router.urls,
]
