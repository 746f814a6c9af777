"""Routes of /resources/audit/events."""

from iam_project.routers import Router

from .views import AuditEventViewSet

router = Router()
router.register("audit/events", AuditEventViewSet, basename="audit-event")

urlpatterns = router.urls
