"""Liveness (/healthz) and readiness (/readyz): each component's state, 503 when a required one is down, and
/metrics' exposition and its restriction."""

import pytest
from django.test import Client

from iam_project import health
from tests.conftest import api_client_for, make_principal
from tests.faults import database_unreachable, free_port

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _migrations_checked_again():
    health._migrations_applied.clear()
    yield
    health._migrations_applied.clear()


def readiness(**headers):
    response = Client(raise_request_exception=False).get("/readyz", **headers)
    return response, response.json()


def test_liveness_needs_nothing_but_the_process(django_assert_num_queries):
    with django_assert_num_queries(0):
        response = Client().get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    with database_unreachable():
        assert Client().get("/healthz").status_code == 200


def test_readiness_reports_every_component(settings):
    response, body = readiness()
    assert response.status_code == 200, body
    assert body["status"] == "ok" and response["Cache-Control"].startswith("max-age=0")
    cache = "redis" if settings.REDIS_URL else "cache"
    assert set(body["components"]) == {"database", cache, "broker", "signingKey", "migrations", "auditChain"}
    assert all(state["status"] == "ok" for state in body["components"].values())
    required = {name for name, state in body["components"].items() if state["required"]}
    if settings.REDIS_URL:  # production: Redis and its broker are required
        assert required == {"database", "redis", "broker", "signingKey", "migrations", "auditChain"}
    else:  # the embedded default needs neither
        assert required == {"database", "signingKey", "migrations", "auditChain"}


def test_a_database_outage_is_503_naming_the_database_and_no_host():
    with database_unreachable():
        response, body = readiness()
    assert response.status_code == 503 and body["status"] == "fail"
    assert body["components"]["database"] == {**body["components"]["database"], "status": "down", "required": True,
                                              "detail": "unreachable"}
    assert body["components"]["signingKey"]["status"] == "ok"
    assert "127.0.0.1" not in response.content.decode() and "nonexistent" not in response.content.decode()
    assert readiness()[0].status_code == 200  # and ready again once it is back


def test_an_unreachable_redis_is_503_where_redis_is_configured(settings):
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    response, body = readiness()
    assert response.status_code == 503 and body["status"] == "fail"
    assert body["components"]["redis"]["status"] == "down" and body["components"]["redis"]["required"] is True
    settings.IAM_READINESS_OPTIONAL = ["redis"]  # where the load balancer acts on readiness
    response, body = readiness()
    assert response.status_code == 200 and body["status"] == "degraded"
    assert body["components"]["redis"] == {**body["components"]["redis"], "status": "down", "required": False}


def test_a_redis_that_answers_but_refuses_writes_is_503(settings, tmp_path):
    """A replica left read-only after a failover, a failed save, out of memory, too few replicas: PING still
    answers, but the platform's cache cannot work (its breaker opens), so readiness must not say ok."""
    import redis as redis_py

    from tests.faults import RedisServer

    server = RedisServer(tmp_path, persist=False).start()
    settings.REDIS_URL = server.url
    try:
        response, body = readiness()
        assert body["components"]["redis"]["status"] == "ok", body
        raw = redis_py.Redis.from_url(server.url)
        raw.config_set("min-replicas-to-write", 1)  # every write refused: NOREPLICAS
        assert raw.ping() is True
        response, body = readiness()
        assert response.status_code == 503 and body["status"] == "fail"
        assert body["components"]["redis"] == {**body["components"]["redis"], "status": "down", "required": True,
                                               "detail": "Redis answers but refuses writes"}
        raw.config_set("min-replicas-to-write", 0)
        assert readiness()[1]["components"]["redis"]["status"] == "ok"  # ready again once it takes writes
    finally:
        server.stop()


def test_an_unreachable_broker_is_503_and_a_file_queue_is_not_required(monkeypatch):
    from celery import current_app

    monkeypatch.setattr(current_app.conf, "broker_url", f"redis://127.0.0.1:{free_port()}/0")
    response, body = readiness()
    assert response.status_code == 503
    assert body["components"]["broker"]["status"] == "down" and body["components"]["broker"]["required"] is True
    monkeypatch.setattr(current_app.conf, "broker_url", "filesystem://")
    assert {name: required for name, _, required in health.components()}["broker"] is False


def test_a_missing_signing_key_is_503(settings):
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "OIDC_RSA_PRIVATE_KEY": ""}
    response, body = readiness()
    assert response.status_code == 503
    assert body["components"]["signingKey"] == {**body["components"]["signingKey"], "status": "down",
                                                "detail": "no signing key is configured"}
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "OIDC_RSA_PRIVATE_KEY": "-----BEGIN PRIVATE KEY-----\nxx"}
    assert readiness()[1]["components"]["signingKey"]["detail"] == "the signing key does not load"


def test_an_unapplied_migration_is_not_ready():
    """Checked in the test's own connection: the migration is marked unapplied inside its transaction."""
    from django.db import connection
    from django.db.migrations.recorder import MigrationRecorder
    from health_check.exceptions import ServiceUnavailable

    health.Migrations().run()
    health._migrations_applied.clear()
    MigrationRecorder(connection).record_unapplied("audit", "0001_initial")  # an old one, not only the latest
    with pytest.raises(ServiceUnavailable, match="migrations are not applied"):
        health.Migrations().run()


def test_an_unreadable_audit_chain_is_not_ready(settings):
    settings.IAM_READINESS_AUDIT_MODEL = "audit.NoSuchModel"
    response, body = readiness()
    assert response.status_code == 503
    assert body["components"]["auditChain"]["status"] == "down"


# --- /metrics ------------------------------------------------------------------------------------------------------

def test_metrics_are_exposed_to_loopback_with_route_names_and_the_platforms_counters():
    owner = api_client_for(make_principal(roles=["system:owner"]))
    subject = make_principal(permissions=["orders/items:read"])
    owner.post("/resources/iam/authorize", {"iamId": subject.iam_id, "permission": "orders/items:read"},
               format="json")
    owner.get(f"/resources/iam/principals/{subject.pk}")
    text = Client().get("/metrics", REMOTE_ADDR="127.0.0.1").content.decode()
    assert 'django_http_requests_latency_seconds_by_view_method_count{method="POST",view="authorize"}' in text
    # the route's name, not the raw path with its id
    assert 'view="principal-detail"' in text and str(subject.pk) not in text
    assert 'portcullis_decisions_total{outcome="allowed"}' in text
    for name in ("portcullis_tokens_issued_total", "portcullis_lockouts_total", "portcullis_rate_limit_hits_total",
                 "portcullis_cache_fallbacks_total", "portcullis_task_failures_total",
                 "portcullis_database_unavailable_total"):
        assert f"# TYPE {name} counter" in text
    assert "_created" not in text  # no creation-time series beside each counter


def test_metrics_are_not_public(settings):
    assert Client().get("/metrics", REMOTE_ADDR="203.0.113.9").status_code == 404
    settings.IAM_METRICS_ALLOWED_IPS = ["203.0.113.0/24"]
    assert Client().get("/metrics", REMOTE_ADDR="203.0.113.9").status_code == 200
    assert Client().get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 404
    settings.IAM_METRICS_TOKEN = "scrape-token-for-tests"
    elsewhere = {"REMOTE_ADDR": "198.51.100.7"}
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-token-for-tests", **elsewhere).status_code == 200
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer wrong", **elsewhere).status_code == 404
    # behind a trusted proxy, the forwarded address is the one that counts
    settings.IAM = {**settings.IAM, "TRUSTED_PROXY_COUNT": 1}
    proxied = {"REMOTE_ADDR": "203.0.113.1", "HTTP_X_FORWARDED_FOR": "198.51.100.7"}
    assert Client().get("/metrics", **proxied).status_code == 404


def test_metrics_keep_answering_while_the_database_is_down():
    with database_unreachable():
        response = Client(raise_request_exception=False).get("/metrics", REMOTE_ADDR="127.0.0.1")
    assert response.status_code == 200 and b"portcullis_decisions_total" in response.content


def test_the_outbox_depth_is_read_at_scrape_time():
    from iam_project import metrics

    metrics.register_outbox_depth(lambda: 42)
    try:
        text = Client().get("/metrics", REMOTE_ADDR="127.0.0.1").content.decode()
    finally:
        metrics.register_outbox_depth(None)
    assert "portcullis_outbox_depth 42.0" in text


def _sample(name, **labels):
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_the_platforms_counters_count_what_happens(settings, django_capture_on_commit_callbacks):
    from clients import services as client_services
    from iam_project.celery import app as celery_app

    settings.AXES_FAILURE_LIMIT = 2
    settings.IAM_RATE_LIMITS = {"API_REQUESTS_PER_IDENTITY": "1/1d"}
    before = {
        "tokens": _sample("portcullis_tokens_issued_total", grant_type="client_credentials"),
        "lockouts": _sample("portcullis_lockouts_total"),
        "limited": _sample("portcullis_rate_limit_hits_total", limit="api-identity"),
        "failures": _sample("portcullis_task_failures_total", task="tests.metrics_boom"),
        "denied": _sample("portcullis_decisions_total", outcome="denied"),
    }
    client = client_services.create_client(None, {"name": "job", "grantTypes": ["client_credentials"],
                                                  "scopes": ["iam/principals:read"]})
    _, secret = client_services.create_secret(None, client.pk)
    with django_capture_on_commit_callbacks(execute=True):
        issued = Client().post("/oauth/token/", {"grant_type": "client_credentials", "client_id": client.client_id,
                                                 "client_secret": secret})
    assert issued.status_code == 200
    principal = make_principal(password="Right-passphrase-42")
    for _ in range(2):
        Client().post("/admin/login/", {"username": principal.email, "password": "wrong-guess"})
    reader = api_client_for(make_principal(permissions=["iam/principals:read"]))
    assert reader.get("/resources/me").status_code == 200
    assert reader.get("/resources/me").status_code == 429
    assert reader.get("/resources/iam/roles").status_code == 403  # permissions are checked before the rate

    @celery_app.task(name="tests.metrics_boom")
    def boom():
        raise RuntimeError("boom")

    assert boom.apply(throw=False).failed()  # as a worker runs it: the failure is recorded, not raised
    assert _sample("portcullis_tokens_issued_total", grant_type="client_credentials") == before["tokens"] + 1
    assert _sample("portcullis_lockouts_total") == before["lockouts"] + 1
    assert _sample("portcullis_rate_limit_hits_total", limit="api-identity") >= before["limited"] + 1
    assert _sample("portcullis_task_failures_total", task="tests.metrics_boom") == before["failures"] + 1
    assert _sample("portcullis_decisions_total", outcome="denied") >= before["denied"] + 1
