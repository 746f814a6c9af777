"""With DEBUG off, every error is answered in its face's shape with the request id — never a traceback,
the settings or a 500 for input a client chose (issue 10, items 9 and 10, and the 405 of a collection)."""

import json
import uuid

import pytest
from django.test import Client

from tests.conftest import api_client_for, make_principal

pytestmark = pytest.mark.django_db

IBM_PREFIXES = ("/v1/", "/v2/", "/identity/")
LEAKS = ("Traceback", "SECRET", "boom", "settings", "DJANGO_SETTINGS_MODULE", "internal reason")


@pytest.fixture
def crashing_urls(settings):
    settings.ROOT_URLCONF = "tests.hardening.urls"
    settings.DEBUG = False


def raw_client(**defaults):
    return Client(raise_request_exception=False, **defaults)


def assert_problem(response, status):
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status and body["title"] and body["type"].startswith("https://")
    assert body["requestId"] and body["requestId"] == response["X-Request-ID"]
    return body


def assert_ibm(response, status):
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["status_code"] == status and body["errors"][0]["code"] and body["errors"][0]["message"]
    assert body["trace"] and body["trace"] == response["X-Request-ID"]
    return body


def assert_page(response, status):
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("text/html")
    text = response.content.decode()
    assert f"<h1>{status} " in text and response["X-Request-ID"] in text
    return text


def assert_no_leak(response):
    text = response.content.decode()
    for leak in LEAKS:
        assert leak not in text, leak


def test_debug_is_off_unless_asked_for(tmp_path):
    """Settings read with no environment (as `make run` does) have DEBUG off, a generated key kept under var/
    with owner-only permissions, and loopback host names; DEBUG=1 turns it on."""
    import os
    import subprocess
    import sys

    probe = ("import django; django.setup(); from django.conf import settings as s; "
             "print(s.DEBUG, s.ALLOWED_HOSTS, bool(s.SECRET_KEY), s.SESSION_COOKIE_SECURE)")
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS"}}
    env.update(DJANGO_SETTINGS_MODULE="iam_project.settings", IAM_VAR_DIR=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False ['localhost', '127.0.0.1', '[::1]'] True False"
    key = tmp_path / "secret_key"
    assert key.stat().st_mode & 0o077 == 0 and len(key.read_text()) >= 50
    out = subprocess.run([sys.executable, "-c", probe], env={**env, "DEBUG": "1"}, capture_output=True, text=True,
                         check=True).stdout
    assert out.startswith("True ")


def test_a_deployment_refuses_to_start_without_an_explicit_secret_key(tmp_path):
    """As soon as ALLOWED_HOSTS names a host beyond loopback (README's production), SECRET_KEY is required."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY"}}
    env.update(DJANGO_SETTINGS_MODULE="iam_project.settings", IAM_VAR_DIR=str(tmp_path),
               ALLOWED_HOSTS="iam.example.com")
    probe = "import django; django.setup(); from django.conf import settings as s; print(s.SESSION_COOKIE_SECURE)"
    refused = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True)
    assert refused.returncode != 0 and "SECRET_KEY must be set" in refused.stderr
    assert not (tmp_path / "secret_key").exists()
    started = subprocess.run([sys.executable, "-c", probe], env={**env, "SECRET_KEY": "x" * 50},
                             capture_output=True, text=True, check=True)
    assert started.stdout.strip() == "True"


# --- 404 ---------------------------------------------------------------------------------------------------

def test_unknown_api_route_is_problem_json():
    body = assert_problem(raw_client().get("/resources/no-such-thing"), 404)
    assert body["detail"] == "No resource at /resources/no-such-thing."


@pytest.mark.parametrize("path", ["/v1/no-such-thing", "/v2/no/such/thing", "/identity/nothing"])
def test_unknown_ibm_route_is_ibm_shaped(path):
    body = assert_ibm(raw_client().get(path), 404)
    assert body["errors"][0]["code"] == "not_found"


def test_unknown_identity_route_also_names_the_error_as_the_token_service_does():
    body = assert_ibm(raw_client().post("/identity/nothing", {"grant_type": "x"}), 404)
    assert body["errorCode"] == "not_found" and body["errorMessage"]


def test_unknown_page_is_a_plain_page_with_the_request_id():
    response = raw_client(HTTP_X_REQUEST_ID="req-404-test").get("/no-such-page")
    text = assert_page(response, 404)
    assert "req-404-test" in text


# --- 500 ---------------------------------------------------------------------------------------------------

def test_a_crash_on_the_api_is_problem_json_without_traceback(crashing_urls):
    response = raw_client().get("/resources/test/crash")
    assert_problem(response, 500)
    assert_no_leak(response)


@pytest.mark.parametrize("path", ["/v1/test/crash", "/identity/test/crash"])
def test_a_crash_on_the_ibm_face_is_ibm_shaped(crashing_urls, path):
    response = raw_client().get(path)
    assert_ibm(response, 500)
    assert_no_leak(response)


def test_a_crash_on_an_oauth_json_endpoint_is_an_oauth_error(crashing_urls):
    response = raw_client().get("/oauth/token/crash")
    assert response.status_code == 500 and response.json()["error"] == "server_error"
    assert response.json()["request_id"] == response["X-Request-ID"]
    assert_no_leak(response)


def test_a_crash_elsewhere_is_a_plain_page(crashing_urls):
    response = raw_client().get("/test/crash")
    assert_page(response, 500)
    assert_no_leak(response)


# --- 403 and 400 raised by Django views ------------------------------------------------------------------------

@pytest.mark.parametrize("path,shape", [("/resources/test/forbidden", assert_problem),
                                        ("/v1/test/forbidden", assert_ibm),
                                        ("/test/forbidden", assert_page)])
def test_permission_denied_outside_drf_in_each_shape(crashing_urls, path, shape):
    response = raw_client().get(path)
    shape(response, 403)
    assert_no_leak(response)


@pytest.mark.parametrize("path,shape", [("/resources/test/suspicious", assert_problem),
                                        ("/v2/test/suspicious", assert_ibm),
                                        ("/test/suspicious", assert_page)])
def test_suspicious_operation_is_a_400_in_each_shape(crashing_urls, path, shape):
    response = raw_client().get(path)
    shape(response, 400)
    assert_no_leak(response)


def test_a_host_outside_allowed_hosts_is_a_400_not_a_debug_page():
    response = raw_client(HTTP_HOST="evil.example").get("/resources/me")
    assert_problem(response, 400)


# --- item 10: nested JSON, over-size bodies ----------------------------------------------------------------

NESTED = "[" * 1000 + "]" * 1000


def test_json_nested_1000_deep_is_a_400_while_authenticating():
    """Unauthenticated: the body is parsed while the bearer authenticator looks at the request."""
    response = raw_client().post("/resources/me/password", NESTED, content_type="application/json")
    body = assert_problem(response, 400)
    assert "nested" in body["detail"]


def test_json_nested_deeper_than_the_limit_is_a_400_for_a_signed_in_caller():
    principal = make_principal(permissions=["iam/principals:read"])
    client = api_client_for(principal)
    nested = {"currentPassword": "x", "newPassword": json.loads("[" * 40 + "]" * 40)}
    response = client.post("/resources/me/password", json.dumps(nested), content_type="application/json")
    assert response.status_code == 400 and "nested" in response.json()["detail"]


def test_json_nested_1000_deep_on_the_ibm_face_is_ibm_shaped():
    response = raw_client().post("/v1/apikeys", NESTED, content_type="application/json")
    assert_ibm(response, 400)


def test_not_json_values_are_refused():
    response = raw_client().post("/resources/me/password", '{"currentPassword": NaN}', content_type="application/json")
    assert_problem(response, 400)


BIG = 3 * 1024 * 1024


def test_a_3mb_json_body_is_a_413_problem():
    body = json.dumps({"currentPassword": "x" * BIG, "newPassword": "y"})
    response = raw_client().post("/resources/me/password", body, content_type="application/json")
    assert_problem(response, 413)


def test_a_3mb_json_body_on_the_ibm_face_is_a_413_ibm_error():
    response = raw_client().post("/v1/apikeys", json.dumps({"name": "x" * BIG}), content_type="application/json")
    assert_ibm(response, 413)


def test_a_3mb_form_body_on_the_identity_token_endpoint_is_a_413_ibm_error():
    response = raw_client().post("/identity/token", {"grant_type": "x", "apikey": "k" * BIG})
    body = assert_ibm(response, 413)
    assert body["errorCode"] and body["errorMessage"]


def test_a_3mb_form_body_on_the_oauth_token_endpoint_is_a_413_oauth_error():
    response = raw_client().post("/oauth/token/", {"grant_type": "client_credentials", "client_id": "c" * BIG})
    assert response.status_code == 413
    assert response.json()["error"] == "invalid_request" and response["X-Request-ID"]


def test_a_3mb_form_body_on_the_console_is_a_413_page():
    response = raw_client().post("/admin/login/", {"username": "a" * BIG, "password": "b"})
    assert_page(response, 413)


def test_a_body_just_under_the_limit_is_still_read(settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 4096
    body = json.dumps({"currentPassword": "x" * 3000, "newPassword": "y"})
    response = raw_client().post("/resources/me/password", body, content_type="application/json")
    assert_problem(response, 401)


# --- NUL characters and other text the database cannot store ----------------------------------------------------

def test_nul_in_a_json_property_is_a_400_naming_the_field(owner):
    client = api_client_for(owner)
    response = client.put(f"/resources/iam/principals/{uuid.uuid4()}",
                          {"email": "nul@example.com", "properties": {"team": {"name": "a\u0000b"}}}, format="json")
    body = assert_problem(response, 400)
    assert list(body["errors"]) == ["properties.team.name"]


def test_nul_in_a_json_key_is_a_400(owner):
    client = api_client_for(owner)
    response = client.put(f"/resources/iam/principals/{uuid.uuid4()}",
                          {"email": "nul@example.com", "properties": {"a\u0000": 1}}, format="json")
    body = assert_problem(response, 400)
    assert list(body["errors"]) == ["properties.'a\\x00'"]


def test_nul_in_a_client_string_field_is_a_400(owner):
    client = api_client_for(owner)
    response = client.put(f"/resources/iam/clients/{uuid.uuid4()}",
                          {"properties": {"name": "app\u0000"}}, format="json")
    assert assert_problem(response, 400)["errors"] == {"properties.name": ["Must not contain NUL (\\u0000) characters."]}


def test_a_lone_surrogate_is_a_400(owner):
    client = api_client_for(owner)
    response = client.generic("PUT", f"/resources/iam/clients/{uuid.uuid4()}",
                              '{"properties": {"name": "app\\ud800"}}', content_type="application/json")
    assert "properties.name" in assert_problem(response, 400)["errors"]


def test_nul_on_the_ibm_face_is_ibm_shaped(owner):
    client = api_client_for(owner)
    response = client.post("/v1/apikeys", {"name": "k\u0000", "iam_id": owner.iam_id}, format="json")
    body = assert_ibm(response, 400)
    assert body["errors"][0]["message"].startswith("name:")


def test_nul_in_a_query_parameter_is_a_400(owner):
    response = api_client_for(owner).get("/resources/iam/principals", {"email": "a\u0000b"})
    assert list(assert_problem(response, 400)["errors"]) == ["query.email"]


def test_nul_in_the_path_is_a_400(owner):
    response = api_client_for(owner).get("/resources/iam/roles/a%00b")
    assert list(assert_problem(response, 400)["errors"]) == ["path"]


def test_nul_in_an_oauth_form_field_is_a_400_oauth_error():
    response = raw_client().post("/oauth/token/", {"grant_type": "client_credentials", "client_id": "a\u0000"})
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


def test_nul_in_an_identity_token_form_is_a_400_ibm_error():
    response = raw_client().post("/identity/token", {"grant_type": "x\u0000"})
    assert_ibm(response, 400)


# --- 405 ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("method,path,allowed", [
    ("post", "/resources/iam/principals", "GET"),
    ("delete", "/resources/iam/principals", "GET"),
    ("post", "/resources/iam/roles", "GET"),
    ("patch", "/resources/iam/roles/test:x", "GET, PUT, DELETE"),
    ("post", "/resources/audit/events", "GET"),
    ("get", "/resources/iam/authorize", "POST"),
    ("put", "/resources/me", "GET"),
])
def test_a_method_the_view_does_not_implement_is_405_with_allow(owner, method, path, allowed):
    response = getattr(api_client_for(owner), method)(path)
    body = assert_problem(response, 405)
    assert "declares no permission" not in body["detail"]
    for name in allowed.split(", "):
        assert name in response["Allow"]
    assert method.upper() not in response["Allow"]


def test_405_comes_before_any_permission_and_also_for_a_narrow_caller(api_as):
    client = api_as("iam/roles:read")
    assert_problem(client.post("/resources/iam/principals"), 405)


def test_a_method_the_ibm_face_does_not_implement_is_405_ibm_shaped(owner):
    response = api_client_for(owner).patch("/v1/apikeys")
    assert_ibm(response, 405)
