"""Console CSS and JS load with DEBUG off (WhiteNoise), as `make run` and production serve them."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_console_static_files_are_served_with_debug_off(settings):
    settings.DEBUG = False
    response = Client().get("/static/admin/css/base.css")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/css")
    assert b"".join(response.streaming_content if response.streaming else [response.content])


def test_the_login_page_links_static_files_that_exist(settings):
    settings.DEBUG = False
    page = Client().get("/admin/login/").content.decode()
    assert 'href="/static/admin/css/base.css"' in page
    assert Client().get("/static/admin/css/login.css").status_code == 200


def test_options_describes_the_view_to_any_signed_in_identity(api_as):
    """OPTIONS changes nothing and says no more than the public OpenAPI document: no permission needed
    (it used to be a 403 "declares no permission for this action")."""
    response = api_as().options("/resources/iam/principals")
    assert response.status_code == 200 and "GET" in response["Allow"]
