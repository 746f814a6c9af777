"""Routes of /resources/iam/clients."""

from iam_project.routers import Router

from .views import ClientViewSet

router = Router()
router.register("iam/clients", ClientViewSet, basename="client")

urlpatterns = router.urls
