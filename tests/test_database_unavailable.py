"""A database that cannot be reached is answered 503 with Retry-After in each face's own error shape — never a
500, never an HTML page where JSON is expected — and the next request after it is back is served again.

The database is made unreachable for real (tests.faults.database_unreachable: PostgreSQL on a closed port,
SQLite in a missing directory); the errors are the drivers' own."""

import base64
import logging

import pytest
from django.test import Client
from rest_framework.test import APIClient

from tests.conftest import make_principal
from tests.faults import database_unreachable

pytestmark = pytest.mark.django_db
BEARER = {"HTTP_AUTHORIZATION": "Bearer pat_not-looked-up-yet"}


def assert_retry_after(response):
    assert response.status_code == 503, response.content
    assert 1 <= int(response["Retry-After"]) <= 60
    assert response["X-Request-ID"]


def test_the_resources_api_answers_problem_json(settings):
    settings.IAM_DATABASE_RETRY_AFTER = 7
    client = APIClient(raise_request_exception=False)
    with database_unreachable():
        response = client.get("/resources/iam/principals", **BEARER)
    assert_retry_after(response)
    assert response["Retry-After"] == "7"
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 503 and body["type"].endswith("/service-unavailable")
    assert body["requestId"] == response["X-Request-ID"] and "Traceback" not in response.content.decode()


def test_a_session_read_in_middleware_is_a_503_too():
    """The session's principal is loaded by a middleware, before any view: Django's handler500 path."""
    client = APIClient(raise_request_exception=False)
    client.force_login(make_principal(roles=["system:owner"]))
    with database_unreachable():
        response = client.get("/resources/iam/principals")
    assert_retry_after(response)
    assert response["Content-Type"] == "application/problem+json"


def test_the_ibm_face_answers_in_ibms_shape():
    client = Client(raise_request_exception=False)
    with database_unreachable():
        listed = client.get("/v1/apikeys", **BEARER)
        token = client.post("/identity/token", {"grant_type": "urn:ibm:params:oauth:grant-type:apikey",
                                                "apikey": "pak_" + "x" * 40})
    for response in (listed, token):
        assert_retry_after(response)
        body = response.json()
        assert body["status_code"] == 503 and body["errors"][0]["code"] == "service_unavailable"
        assert body["trace"] == response["X-Request-ID"]
    assert token.json()["errorCode"] == "service_unavailable"  # what IBM's SDKs read from the token service


def test_the_oauth_server_answers_in_oauths_shape():
    client = Client(raise_request_exception=False)
    basic = "Basic " + base64.b64encode(b"some-client:some-secret").decode()
    with database_unreachable():
        response = client.post("/oauth/token/", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=basic)
    assert_retry_after(response)
    assert response.json()["error"] == "temporarily_unavailable"


def test_the_console_and_its_sign_in_answer_a_plain_page():
    signed_in = Client(raise_request_exception=False)
    signed_in.force_login(make_principal(roles=["system:owner"]))
    anonymous = Client(raise_request_exception=False)
    with database_unreachable():
        console = signed_in.get("/admin/")
        sign_in_page = anonymous.post("/admin/login/", {"username": "someone@example.com", "password": "guess-it"})
    for response in (console, sign_in_page):
        assert_retry_after(response)
        assert response["Content-Type"].startswith("text/html")
        assert b"503 Service unavailable" in response.content and b"Traceback" not in response.content


def test_an_outage_is_logged_once_a_minute_without_the_drivers_text(caplog):
    from iam_project import exceptions

    exceptions._database_log.reset()
    client = APIClient(raise_request_exception=False)
    with caplog.at_level(logging.INFO, logger="iam_project.exceptions"), database_unreachable():
        for _ in range(5):
            assert client.get("/resources/iam/principals", **BEARER).status_code == 503
    lines = [r.getMessage() for r in caplog.records if r.name == "iam_project.exceptions"]
    assert len(lines) == 1 and lines[0].startswith("database.unavailable error=OperationalError")
    assert "127.0.0.1" not in lines[0] and "nonexistent" not in lines[0]


def test_the_next_request_after_the_outage_is_served():
    owner = make_principal(roles=["system:owner"])
    client = APIClient(raise_request_exception=False)
    client.force_login(owner)
    with database_unreachable():
        assert client.get("/resources/me").status_code == 503
    assert client.get("/resources/me").status_code == 200
