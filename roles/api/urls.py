"""Routes of /resources/iam/roles and /resources/iam/authorize."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from .views import AuthorizeView, RoleViewSet

router = SimpleRouter(trailing_slash="/?")
router.register("iam/roles", RoleViewSet, basename="role")

urlpatterns = [
    path("iam/authorize", AuthorizeView.as_view(), name="authorize"),
    *router.urls,
]
