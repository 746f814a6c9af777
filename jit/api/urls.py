"""Routes of /resources/jit/."""

from iam_project.routers import Router

from .views import AccessRequestViewSet, EligibilityViewSet

router = Router()
router.register("jit/eligibilities", EligibilityViewSet, basename="jit-eligibility")
router.register("jit/requests", AccessRequestViewSet, basename="jit-request")

urlpatterns = router.urls
