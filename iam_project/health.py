"""Liveness (/healthz) and readiness (/readyz): each component's state, 503 when a required one is down.

Readiness runs django-health-check's checks (the database's SELECT 1, the file cache's set/get) and the
platform's own (Redis taking a write, the broker's connection, the signing key, the migrations, the audit
chain's heads) concurrently, each within its time budget, and answers::

    {"status": "ok" | "degraded" | "fail",
     "components": {"database": {"status": "ok", "required": true, "seconds": 0.002}, ...}}

A component is *required* when the platform cannot serve correctly without it: the database, the
signing key, the migrations and the audit trail always; Redis and the broker only where they are
configured (``REDIS_URL``; the embedded default has neither) and not listed in
``IAM_READINESS_OPTIONAL``. Any required component down: 503 and ``"fail"``; only optional ones down:
200 and ``"degraded"``. The answer names no host, user or error text (those go to the log).
"""

import asyncio
import dataclasses
import datetime
import logging

from django.conf import settings
from django.db import connections
from django.http import JsonResponse
from health_check.base import HealthCheck
from health_check.checks import Cache as CacheCheck
from health_check.checks import Database as DatabaseCheck
from health_check.exceptions import ServiceUnavailable
from health_check.views import HealthCheckView

from .cache import ThrottledLog

logger = logging.getLogger(__name__)

BUDGET = datetime.timedelta(seconds=2)


def liveness(request):
    """The process answers: no database, no cache, nothing but this."""
    response = JsonResponse({"status": "ok"})
    response["Cache-Control"] = "no-store"
    return response


# --- the platform's own checks ----------------------------------------------------------------------------------

@dataclasses.dataclass
class Broker(HealthCheck):
    """The Celery broker accepts a connection (tasks can be published)."""

    timeout: datetime.timedelta = dataclasses.field(default=BUDGET, repr=False)

    def run(self):
        from celery import current_app

        try:
            with current_app.connection_for_write() as connection:
                connection.ensure_connection(max_retries=1, interval_start=0, interval_step=0,
                                             timeout=self.timeout.total_seconds())
        except Exception as exc:  # noqa: BLE001  (kombu raises its transport's own errors)
            raise ServiceUnavailable("the broker refused or did not answer") from exc


@dataclasses.dataclass
class SigningKey(HealthCheck):
    """The OpenID Connect / JWT signing key is present and loads."""

    def run(self):
        from jwcrypto import jwk

        pem = (getattr(settings, "OAUTH2_PROVIDER", {}) or {}).get("OIDC_RSA_PRIVATE_KEY") or ""
        if not pem.strip():
            raise ServiceUnavailable("no signing key is configured")
        try:
            jwk.JWK.from_pem(pem.encode("utf-8"))
        except Exception as exc:  # noqa: BLE001
            raise ServiceUnavailable("the signing key does not load") from exc


_migrations_applied = set()  # aliases seen fully migrated: stays true for the life of the process's code


@dataclasses.dataclass
class Migrations(HealthCheck):
    """Every migration of the running code is applied (a new release before `migrate` is not ready)."""

    alias: str = "default"
    timeout: datetime.timedelta = dataclasses.field(default=BUDGET, repr=False)

    def run(self):
        if self.alias in _migrations_applied:
            return
        from django.db.migrations.loader import MigrationLoader

        connection = connections[self.alias]
        try:
            with connection.temporary_connection():
                loader = MigrationLoader(connection, ignore_no_migrations=True)
                missing = [node for node in loader.graph.nodes if node not in loader.applied_migrations]
        except Exception as exc:  # noqa: BLE001  (the database check says why)
            raise ServiceUnavailable("the migrations could not be read") from exc
        if missing:
            raise ServiceUnavailable(f"{len(missing)} migrations are not applied")
        _migrations_applied.add(self.alias)


@dataclasses.dataclass
class ModelReadable(HealthCheck):
    """Rows of a model can be read (the audit trail's chain heads: every audited write appends behind them)."""

    model: str = ""
    alias: str = "default"
    timeout: datetime.timedelta = dataclasses.field(default=BUDGET, repr=False)

    def run(self):
        from django.apps import apps

        connection = connections[self.alias]
        try:
            model = apps.get_model(self.model)
            with connection.temporary_connection():
                list(model.objects.using(self.alias).order_by().values_list("pk", flat=True)[:64])
        except Exception as exc:  # noqa: BLE001
            raise ServiceUnavailable(f"{self.model} cannot be read") from exc


@dataclasses.dataclass
class RedisWritable(HealthCheck):
    """Redis answers and takes a write. A PING alone passes where the platform's cache cannot work: a replica
    left read-only after a failover (READONLY), a failed save (MISCONF), out of memory under ``noeviction``,
    too few replicas (NOREPLICAS), still loading (LOADING). The probe writes one short-lived key."""

    url: str = dataclasses.field(default="", repr=False)
    timeout: datetime.timedelta = dataclasses.field(default=BUDGET, repr=False)

    PROBE_KEY = "iam:readyz:probe"

    async def run(self):
        from redis import exceptions
        from redis.asyncio import Redis as RedisClient

        seconds = self.timeout.total_seconds()
        client = RedisClient.from_url(self.url, socket_connect_timeout=seconds, socket_timeout=seconds)
        try:
            await client.set(self.PROBE_KEY, "1", px=int(seconds * 5000))
        except exceptions.ResponseError as exc:  # ReadOnlyError and OutOfMemoryError are ResponseErrors too
            raise ServiceUnavailable("Redis answers but refuses writes") from exc
        except (exceptions.ConnectionError, exceptions.TimeoutError, OSError) as exc:
            raise ServiceUnavailable("unreachable") from exc
        finally:
            await client.aclose()


def _redis_check(url):
    return RedisWritable(url=url)


_log = ThrottledLog(logger, 60)


def _cause(error):
    """The class of what made a check fail (a driver's error), never its text."""
    cause = error.__cause__ or error
    return type(cause).__name__


def components():
    """(name, check, required) of every component readiness reports, from the settings."""
    redis_url = getattr(settings, "REDIS_URL", "")
    optional = set(getattr(settings, "IAM_READINESS_OPTIONAL", ()))
    from celery import current_app

    broker_url = str(current_app.conf.broker_url or "")
    found = [
        ("database", DatabaseCheck(alias="default"), True),
        ("redis" if redis_url else "cache", _redis_check(redis_url) if redis_url else CacheCheck(alias="default"),
         bool(redis_url)),
        ("broker", Broker(), not broker_url.startswith(("filesystem://", "memory://"))),
        ("signingKey", SigningKey(), True),
        ("migrations", Migrations(alias="default"), True),
        ("auditChain", ModelReadable(model=getattr(settings, "IAM_READINESS_AUDIT_MODEL", "audit.ChainHead")), True),
    ]
    return [(name, check, required and name not in optional) for name, check, required in found]


class ReadinessView(HealthCheckView):
    """django-health-check's view (concurrent checks, each in its budget), answered in our JSON with 503."""

    def get_checks(self):
        self.components = components()
        return [check for _, check, _ in self.components]

    async def get(self, request, *args, **kwargs):
        with self.get_executor() as executor:
            self.results = await asyncio.gather(*(check.get_result(executor) for check in self.get_checks()))
        return self.render_readiness()

    def render_readiness(self):
        states = {}
        failed_required = failed_optional = False
        for (name, _, required), result in zip(self.components, self.results):
            state = {"status": "ok" if result.error is None else "down", "required": required,
                     "seconds": round(result.time_taken, 4)}
            if result.error is not None:
                # Our own checks' messages are ours; a library's may quote its driver (host, port): not shown.
                own = isinstance(result.check, (Broker, SigningKey, Migrations, ModelReadable, RedisWritable))
                state["detail"] = str(result.error.message) if own else "unreachable"
                failed_required |= required
                failed_optional |= not required
            states[name] = state
        overall = "fail" if failed_required else ("degraded" if failed_optional else "ok")
        if overall != "ok":  # probes come every few seconds: once a minute is enough to tell
            down = ",".join(f"{name}:{_cause(result.error)}" for (name, _, _), result in zip(self.components, self.results)
                            if result.error is not None)
            _log(logging.WARNING, "readiness.%s down=%s", overall, down)
        return JsonResponse({"status": overall, "components": states}, status=503 if failed_required else 200)
