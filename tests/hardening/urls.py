"""The project's URLs plus views that fail on purpose, one per face, for the error-shape tests."""

from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.urls import path

from iam_project.urls import handler400, handler403, handler404, handler500  # noqa: F401
from iam_project.urls import urlpatterns as project_urlpatterns


def crash(request):
    raise RuntimeError("boom: SECRET internals must not leak")


def forbidden(request):
    raise PermissionDenied("internal reason")


def suspicious(request):
    raise SuspiciousOperation("internal reason")


urlpatterns = [
    path("resources/test/crash", crash),
    path("v1/test/crash", crash),
    path("identity/test/crash", crash),
    path("oauth/token/crash", crash),
    path("test/crash", crash),
    path("resources/test/forbidden", forbidden),
    path("v1/test/forbidden", forbidden),
    path("test/forbidden", forbidden),
    path("resources/test/suspicious", suspicious),
    path("v2/test/suspicious", suspicious),
    path("test/suspicious", suspicious),
    *project_urlpatterns,
]
