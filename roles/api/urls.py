"""Routes of /resources/iam/roles, /resources/iam/authorize, the access answers (/resources/iam/access/...)
and /resources/graph/query."""

from django.urls import path
from iam_project.routers import Router

from .access import CheckAccessView, EffectiveAccessView, HoldersView
from .graph import GraphQueryView
from .views import AuthorizeView, RoleViewSet

router = Router()
router.register("iam/roles", RoleViewSet, basename="role")

urlpatterns = [
    path("iam/authorize", AuthorizeView.as_view(), name="authorize"),
    path("graph/query", GraphQueryView.as_view(), name="graph-query"),
    path("iam/access/check", CheckAccessView.as_view(), name="access-check"),
    path("iam/access/holders", HoldersView.as_view(), name="access-holders"),
    path("iam/principals/<str:pk>/access", EffectiveAccessView.as_view(identity_type="principal"),
         name="principal-access"),
    path("iam/clients/<str:pk>/access", EffectiveAccessView.as_view(identity_type="client"), name="client-access"),
    *router.urls,
]
