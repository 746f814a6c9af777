"""The platform's URLs plus the benchmark's reference view (see reference_settings)."""

from django.db import connection
from django.http import JsonResponse
from django.urls import path

from iam_project.urls import handler400, handler403, handler404, handler500, urlpatterns as platform  # noqa: F401


def select_one(request):
    """A round trip to the database and a JSON answer: the cheapest view that touches PostgreSQL."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    response = JsonResponse({"status": "ok"})
    response["Cache-Control"] = "no-store"
    return response


urlpatterns = [path("bench/select1", select_one), *platform]
