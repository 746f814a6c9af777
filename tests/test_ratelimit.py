"""Rate limits on every credential endpoint and per identity on the API: failed attempts counted per
IP and per credential, a generous flood limit, 429 with Retry-After in each face's error shape."""

import base64
import logging

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client as HttpClient

from clients import services as client_services
from tests.conftest import api_client_for, make_principal

pytestmark = pytest.mark.django_db
TOKEN = "/oauth/token/"
APIKEY_GRANT = "urn:ibm:params:oauth:grant-type:apikey"
PASSWORD = "Current-passphrase-42"


@pytest.fixture
def limits(settings):
    """Small limits, one per test: the window is a day so that no test runs across its edge."""

    def apply(**overrides):
        base = {"CREDENTIAL_FAILURES_PER_IP": "100/1d", "CREDENTIAL_FAILURES_PER_CREDENTIAL": "100/1d",
                "CREDENTIAL_REQUESTS_PER_IP": "10000/1d", "API_REQUESTS_PER_IDENTITY": "10000/1d"}
        settings.IAM_RATE_LIMITS = {**base, **overrides}

    return apply


def make_client(grant_types=("client_credentials",), **props):
    client = client_services.create_client(None, {"name": "job", "grantTypes": list(grant_types),
                                                  "scopes": ["iam/principals:read"], **props})
    _, secret = client_services.create_secret(None, client.pk)
    return client, secret


def basic(client_id, secret):
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def token(client_id, secret, ip="127.0.0.1", **data):
    return HttpClient().post(TOKEN, {"grant_type": "client_credentials", **data},
                             HTTP_AUTHORIZATION=basic(client_id, secret), REMOTE_ADDR=ip)


def assert_oauth_429(response):
    assert response.status_code == 429, response.content
    assert response["Content-Type"] == "application/json" and response["Cache-Control"] == "no-store"
    body = response.json()
    assert set(body) == {"error", "error_description"} and body["error"] == "temporarily_unavailable"
    assert 0 < int(response["Retry-After"]) <= 24 * 3600


def assert_ibm_429(response):
    assert response.status_code == 429, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"trace", "errors", "status_code"} and body["status_code"] == 429
    assert body["errors"][0]["code"] == "too_many_requests" and body["errors"][0]["message"]
    assert body["trace"] == response["X-Request-ID"]
    assert 0 < int(response["Retry-After"]) <= 24 * 3600


def assert_problem_429(response):
    assert response.status_code == 429, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 429 and body["title"] == "Too many requests" and body["type"].endswith("/throttled")
    assert 0 < int(response["Retry-After"]) <= 24 * 3600


# --- /oauth/token/ ----------------------------------------------------------------------------------

def test_wrong_secrets_for_one_client_lock_that_client_id_from_every_address(limits):
    limits(CREDENTIAL_FAILURES_PER_CREDENTIAL="3/1d")
    victim, secret = make_client()
    for index in range(3):
        assert token(victim.client_id, f"guess-{index}", ip=f"198.51.100.{index}").status_code == 401
    assert_oauth_429(token(victim.client_id, "guess-3", ip="198.51.100.9"))
    assert_oauth_429(token(victim.client_id, secret, ip="198.51.100.10"))  # the right one waits too
    other, other_secret = make_client()
    assert token(other.client_id, other_secret, ip="198.51.100.9").status_code == 200


def test_wrong_secrets_from_one_address_lock_that_address_for_every_client(limits):
    limits(CREDENTIAL_FAILURES_PER_IP="3/1d")
    for index in range(3):
        assert token(f"no-such-client-{index}", "guess", ip="198.51.100.1").status_code == 401
    good, secret = make_client()
    assert_oauth_429(token(good.client_id, secret, ip="198.51.100.1"))
    assert token(good.client_id, secret, ip="198.51.100.2").status_code == 200
    # the body's client_id is the one counted when there is no Basic header
    response = HttpClient().post(TOKEN, {"grant_type": "client_credentials", "client_id": good.client_id,
                                         "client_secret": "guess"}, REMOTE_ADDR="198.51.100.1")
    assert_oauth_429(response)


def test_successful_requests_are_not_failures(limits):
    limits(CREDENTIAL_FAILURES_PER_IP="3/1d", CREDENTIAL_FAILURES_PER_CREDENTIAL="3/1d")
    client, secret = make_client()
    for _ in range(12):
        assert token(client.client_id, secret).status_code == 200


def test_a_bad_refresh_token_counts_against_the_address_only(limits):
    """Stale refresh tokens of one public client's many users must not lock the client for all."""
    limits(CREDENTIAL_FAILURES_PER_CREDENTIAL="2/1d", CREDENTIAL_FAILURES_PER_IP="4/1d")
    client, secret = make_client(grant_types=("client_credentials", "authorization_code", "refresh_token"),
                                 redirectUris=["https://app.example.com/callback"])
    for index in range(4):
        response = token(client.client_id, secret, ip=f"198.51.100.{index}", grant_type="refresh_token",
                         refresh_token=f"stale-{index}")
        assert response.status_code == 400 and response.json()["error"] == "invalid_grant"
    assert token(client.client_id, secret, ip="198.51.100.9").status_code == 200
    for _ in range(4):
        token(client.client_id, secret, ip="198.51.100.20", grant_type="refresh_token", refresh_token="stale")
    assert_oauth_429(token(client.client_id, secret, ip="198.51.100.20"))


def test_the_flood_limit_counts_every_request_per_address(limits):
    limits(CREDENTIAL_REQUESTS_PER_IP="5/1d")
    client, secret = make_client()
    for _ in range(5):
        assert token(client.client_id, secret, ip="198.51.100.50").status_code == 200
    assert_oauth_429(token(client.client_id, secret, ip="198.51.100.50"))
    assert token(client.client_id, secret, ip="198.51.100.51").status_code == 200


def test_an_ipv6_client_is_counted_by_its_64_block(limits):
    limits(CREDENTIAL_FAILURES_PER_IP="3/1d")
    for index in range(3):
        token("nobody", "guess", ip=f"2001:db8:1:2::{index + 1}")
    good, secret = make_client()
    assert_oauth_429(token(good.client_id, secret, ip="2001:db8:1:2:ffff::9"))
    assert token(good.client_id, secret, ip="2001:db8:1:3::1").status_code == 200


@pytest.mark.parametrize("path", ["/oauth/introspect/", "/oauth/revoke_token/"])
def test_introspection_and_revocation_count_refused_client_authentication(limits, path):
    limits(CREDENTIAL_FAILURES_PER_CREDENTIAL="3/1d")
    client, secret = make_client()
    http = HttpClient()
    for index in range(3):
        response = http.post(path, {"token": "x"}, HTTP_AUTHORIZATION=basic(client.client_id, f"guess-{index}"))
        assert response.status_code in (401, 403)
    assert_oauth_429(http.post(path, {"token": "x"}, HTTP_AUTHORIZATION=basic(client.client_id, secret)))


# --- /identity/token ---------------------------------------------------------------------------------

def identity_token(value, ip="127.0.0.1"):
    return HttpClient().post("/identity/token", {"grant_type": APIKEY_GRANT, "apikey": value}, REMOTE_ADDR=ip)


def test_bad_api_keys_are_answered_429_in_ibms_shape(limits):
    limits(CREDENTIAL_FAILURES_PER_IP="3/1d")
    owner = make_principal()
    _, value = client_services.create_api_key(None, owner, "k")
    for index in range(3):
        assert identity_token(f"pak_guess{index:040d}", ip="198.51.100.60").status_code == 400
    assert_ibm_429(identity_token(value, ip="198.51.100.60"))
    assert identity_token(value, ip="198.51.100.61").status_code == 200


def test_a_refused_api_key_is_counted_by_its_prefix(limits):
    limits(CREDENTIAL_FAILURES_PER_CREDENTIAL="3/1d")
    owner = make_principal()
    key, value = client_services.create_api_key(None, owner, "k")
    client_services.set_api_key_flag(None, key.pk, "disabled", True)
    for index in range(3):
        assert identity_token(value, ip=f"198.51.100.{70 + index}").status_code == 400
    assert_ibm_429(identity_token(value, ip="198.51.100.79"))


def test_the_middlewares_ibm_shape_is_the_ibm_faces_own(limits):
    """ibmcloud.api.errors.ibm_error and the middleware's copy of it answer the same shape."""
    limits(CREDENTIAL_FAILURES_PER_IP="1/1d", API_REQUESTS_PER_IDENTITY="1/1d")
    identity_token("pak_nothing")
    from_middleware = identity_token("pak_nothing")
    owner = make_principal(roles=["system:owner"])
    http = api_client_for(owner)
    http.get("/v1/apikeys")
    from_face = http.get("/v1/apikeys")
    assert_ibm_429(from_middleware)
    assert_ibm_429(from_face)
    assert set(from_face.json()) == set(from_middleware.json())
    assert set(from_face.json()["errors"][0]) == set(from_middleware.json()["errors"][0])


# --- /resources/me/password --------------------------------------------------------------------------

def change_password(http, current, ip="127.0.0.1"):
    return http.post("/resources/me/password", {"currentPassword": current, "newPassword": "Another-passphrase-77"},
                     format="json", REMOTE_ADDR=ip)


def test_wrong_current_passwords_lock_the_identity_in_problem_shape(limits):
    limits(CREDENTIAL_FAILURES_PER_CREDENTIAL="3/1d")
    principal = make_principal(password=PASSWORD)
    http = api_client_for(principal)
    for index in range(3):
        response = change_password(http, f"guess-{index}", ip=f"198.51.100.{index}")
        assert response.status_code == 400 and "currentPassword" in response.json()["errors"]
    assert_problem_429(change_password(http, PASSWORD, ip="198.51.100.9"))
    principal.refresh_from_db()
    assert principal.check_password(PASSWORD)
    other = api_client_for(make_principal(password=PASSWORD))
    assert change_password(other, PASSWORD, ip="198.51.100.9").status_code == 204


def test_a_bearer_token_identity_is_counted_as_the_same_identity(limits):
    limits(CREDENTIAL_FAILURES_PER_CREDENTIAL="2/1d")
    principal = make_principal(password=PASSWORD)
    _, value = client_services.create_api_key(None, principal, "k")
    access = identity_token(value).json()["access_token"]
    bearer = HttpClient(HTTP_AUTHORIZATION=f"Bearer {access}")
    session = api_client_for(principal)
    assert change_password(session, "guess-1").status_code == 400
    response = bearer.post("/resources/me/password", {"currentPassword": "guess-2", "newPassword": "x" * 20},
                           content_type="application/json", REMOTE_ADDR="198.51.100.5")
    assert response.status_code == 400
    assert_problem_429(change_password(session, PASSWORD))


# --- per identity on the API -------------------------------------------------------------------------

def test_each_identity_has_its_own_api_rate_in_each_faces_shape(limits):
    limits(API_REQUESTS_PER_IDENTITY="3/1d")
    busy = api_client_for(make_principal(roles=["system:owner"]))
    for _ in range(3):
        assert busy.get("/resources/me").status_code == 200
    assert_problem_429(busy.get("/resources/me"))
    assert_ibm_429(busy.get("/v1/apikeys"))
    calm = api_client_for(make_principal(roles=["system:owner"]))
    assert calm.get("/resources/me").status_code == 200 and calm.get("/v1/apikeys").status_code == 200


def test_the_default_limits_leave_ordinary_use_alone():
    owner = make_principal(roles=["system:owner"])
    http = api_client_for(owner)
    client, secret = make_client()
    for _ in range(25):
        assert http.get("/resources/me").status_code == 200
        assert token(client.client_id, secret).status_code == 200


# --- failure of the shared cache ---------------------------------------------------------------------

def test_a_broken_cache_counts_in_the_process_and_says_so_once(limits, settings, caplog):
    """A cache that cannot count (a plain Redis backend on a closed port: no breaker in front) neither
    answers 500 nor lets guessing through: the counts and blocks go on in the process's own memory,
    and the fall-back is logged once, not once per request."""
    from iam_project import ratelimit

    limits(CREDENTIAL_FAILURES_PER_IP="2/1d", API_REQUESTS_PER_IDENTITY="3/1d")
    settings.CACHES = {**settings.CACHES, "ratelimit-broken": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}}
    settings.RATELIMIT_USE_CACHE = "ratelimit-broken"
    ratelimit._LOCAL.clear()
    ratelimit._fallback_log.reset()
    client, secret = make_client()
    owner = api_client_for(make_principal(roles=["system:owner"]))
    with caplog.at_level(logging.INFO, logger="iam_project.ratelimit"):
        for _ in range(2):
            assert token(client.client_id, "guess").status_code == 401
        assert_oauth_429(token(client.client_id, secret))  # blocked in this process, right secret or not
        for _ in range(3):
            assert owner.get("/resources/me").status_code == 200
        assert owner.get("/resources/me").status_code == 429
    records = [r for r in caplog.records if r.name == "iam_project.ratelimit"]
    fallbacks = [r.getMessage() for r in records if r.getMessage().startswith("ratelimit.fallback ")]
    assert len(fallbacks) == 1 and "scope=process" in fallbacks[0]
    assert not [r for r in records if r.levelno >= logging.ERROR]
    assert all(secret not in r.getMessage() for r in records)
    ratelimit._LOCAL.clear()


# --- settings and the OpenAPI document ---------------------------------------------------------------

def test_a_malformed_limit_setting_stops_the_start(monkeypatch):
    from iam_project.settings import _rate_setting

    monkeypatch.setenv("IAM_RATELIMIT_FAILURES_PER_IP", "ten per minute")
    with pytest.raises(ImproperlyConfigured, match="IAM_RATELIMIT_FAILURES_PER_IP"):
        _rate_setting("IAM_RATELIMIT_FAILURES_PER_IP", "10/5m")
    monkeypatch.setenv("IAM_RATELIMIT_FAILURES_PER_IP", "off")
    assert _rate_setting("IAM_RATELIMIT_FAILURES_PER_IP", "10/5m") is None
    monkeypatch.setenv("IAM_RATELIMIT_FAILURES_PER_IP", "25/10m")
    assert _rate_setting("IAM_RATELIMIT_FAILURES_PER_IP", "10/5m") == "25/10m"


def test_a_limit_turned_off_does_not_count(limits, settings):
    limits(CREDENTIAL_FAILURES_PER_IP=None, CREDENTIAL_FAILURES_PER_CREDENTIAL=None)
    for _ in range(15):
        assert token("nobody", "guess").status_code == 401


def test_the_openapi_document_declares_the_429s():
    schema = HttpClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    password = schema["paths"]["/resources/me/password"]["post"]["responses"]["429"]
    assert "application/problem+json" in password["content"] and "Retry-After" in password["headers"]
    keys = schema["paths"]["/v1/apikeys"]["get"]["responses"]["429"]
    assert "application/json" in keys["content"]
