"""Prometheus metrics: the platform's own counters and gauges, and the /metrics view that is not public.

Request latency per route comes from django-prometheus' middleware
(``django_http_requests_latency_seconds_by_view_method``, labelled by the route's name, never the raw
path). The rest is defined here and incremented where it happens: the engine's decisions, token
issuance, lock-outs, rate-limit refusals, the cache's fall-backs and breaker, Celery task failures,
503s answered for a database outage, and the outbox's depth (read at scrape time). docs/operations.md
lists each metric and the alerts to set on them.

Several processes (gunicorn workers, a Celery worker) each count in their own memory unless
``PROMETHEUS_MULTIPROC_DIR`` names a directory they share (prometheus_client's multiprocess mode):
then /metrics sums them all.

``/metrics`` answers only the addresses in ``IAM_METRICS_ALLOWED_IPS`` (loopback by default) or a
request bearing ``IAM_METRICS_TOKEN``: it must keep answering while the database is down, which is
when it matters most, so it does not depend on the database (no engine permission, no token lookup).
"""

import hashlib
import hmac
import ipaddress
import logging
import os

from django.conf import settings
from django.http import HttpResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Gauge, disable_created_metrics, generate_latest,
)
from prometheus_client.core import GaugeMetricFamily

logger = logging.getLogger(__name__)

disable_created_metrics()  # no "<counter>_created" series beside every counter: only noise for alerts

DECISIONS = Counter("portcullis_decisions_total", "Authorization decisions of the engine, by outcome.", ["outcome"])
TOKENS_ISSUED = Counter("portcullis_tokens_issued_total", "Access tokens issued (committed), by grant type.",
                        ["grant_type"])
LOCKOUTS = Counter("portcullis_lockouts_total", "Sign-in lock-outs begun (django-axes), a username or an IP.")
RATE_LIMITED = Counter("portcullis_rate_limit_hits_total", "Requests refused 429 by a rate limit, by limit.",
                       ["limit"])
RATE_LIMIT_FALLBACKS = Counter("portcullis_rate_limit_fallbacks_total",
                               "Rate-limit counts kept in the process's own memory because the shared cache failed.")
CACHE_FALLBACKS = Counter("portcullis_cache_fallbacks_total",
                          "Cache operations answered without Redis (a miss, nothing written, or a local count).",
                          ["cache", "operation"])
CACHE_BREAKER_OPEN = Gauge("portcullis_cache_breaker_open", "1 while the cache's circuit breaker is open (Redis "
                           "unreachable) in some process, else 0.", ["cache"], multiprocess_mode="livemax")
TASK_FAILURES = Counter("portcullis_task_failures_total", "Celery tasks that raised, by task name.", ["task"])
DATABASE_UNAVAILABLE = Counter("portcullis_database_unavailable_total",
                               "Requests answered 503 because the database could not be reached.")


def decision(allowed):
    DECISIONS.labels(outcome="allowed" if allowed else "denied").inc()


def token_issued(grant_type):
    TOKENS_ISSUED.labels(grant_type=grant_type or "unknown").inc()


def rate_limited(limit):
    RATE_LIMITED.labels(limit=limit).inc()


def rate_limit_fallback():
    RATE_LIMIT_FALLBACKS.inc()


def cache_fallback(cache, operation):
    CACHE_FALLBACKS.labels(cache=cache, operation=operation).inc()


def cache_breaker_open(cache, is_open):
    CACHE_BREAKER_OPEN.labels(cache=cache).set(1 if is_open else 0)


def database_unavailable():
    DATABASE_UNAVAILABLE.inc()


# --- Lock-outs and task failures: signals of the libraries that do them ---------------------------------

def handle_user_locked_out(sender, request=None, **kwargs):
    # axes sends the signal again for every refused attempt during a lock-out; only the attempt that
    # began it has counted failures (see audit.signals.handle_user_locked_out).
    if request is not None and getattr(request, "axes_failures_since_start", None) is not None:
        LOCKOUTS.inc()


def handle_task_failure(sender=None, **kwargs):
    TASK_FAILURES.labels(task=getattr(sender, "name", None) or "unknown").inc()


def connect():
    """Listen to django-axes and Celery (called once from the platform app's ready())."""
    from axes.signals import user_locked_out
    from celery.signals import task_failure

    user_locked_out.connect(handle_user_locked_out, dispatch_uid="metrics.lockout")
    task_failure.connect(handle_task_failure, dispatch_uid="metrics.task_failure", weak=False)


# --- The outbox's depth: read when scraped ---------------------------------------------------------------

_outbox_depth = None


def register_outbox_depth(read):
    """``read()`` -> the number of outbox messages not yet relayed; reported as ``portcullis_outbox_depth``
    at each scrape. By default, ``iam_project.outbox.pending_count``."""
    global _outbox_depth
    _outbox_depth = read


def _default_outbox_depth():
    from .outbox import pending_count

    return pending_count()


class OutboxDepthCollector:
    """``portcullis_outbox_depth``: absent when there is no outbox or it cannot be read (the database is
    down: alert on that through /readyz and the 503 counter, not through a made-up number)."""

    def collect(self):
        try:
            depth = (_outbox_depth or _default_outbox_depth)()
        except Exception as exc:  # noqa: BLE001  (a scrape must not fail because the database did)
            logger.info("metrics.outbox_unreadable error=%s", type(exc).__name__)
            depth = None
        if depth is not None:
            yield GaugeMetricFamily("portcullis_outbox_depth", "Outbox messages not yet relayed to the broker.",
                                    value=depth)

    def describe(self):
        return []  # not collected at registration: the database may not be ready then


_outbox_collector = OutboxDepthCollector()
REGISTRY.register(_outbox_collector)


# --- /metrics ------------------------------------------------------------------------------------------------

def _allowed_networks():
    networks = []
    for item in getattr(settings, "IAM_METRICS_ALLOWED_IPS", ["127.0.0.0/8", "::1/128"]):
        networks.append(ipaddress.ip_network(item, strict=False))
    return networks


def may_scrape(request):
    """A bearer of IAM_METRICS_TOKEN (compared by digest, in constant time), or a client address in
    IAM_METRICS_ALLOWED_IPS — the address as the rest of the platform sees it (behind trusted proxies,
    the forwarded one)."""
    token = getattr(settings, "IAM_METRICS_TOKEN", "")
    scheme, _, presented = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if token and scheme.lower() == "bearer" and presented.strip():
        return hmac.compare_digest(hashlib.sha256(presented.strip().encode()).digest(),
                                   hashlib.sha256(token.encode()).digest())
    from .middleware import client_ip

    ip = getattr(request, "client_ip", None) or client_ip(request)
    try:
        address = ipaddress.ip_address(ip or "")
    except ValueError:
        return False
    return any(address.version == network.version and address in network for network in _allowed_networks())


def _registry():
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        registry.register(_outbox_collector)
        return registry
    return REGISTRY


def metrics_view(request):
    """The Prometheus exposition, to allowed scrapers only (404 to anyone else: nothing to discover)."""
    from .exceptions import error_response

    if not may_scrape(request):
        return error_response(request, 404, f"No resource at {request.path}.")
    response = HttpResponse(generate_latest(_registry()), content_type=CONTENT_TYPE_LATEST)
    response["Cache-Control"] = "no-store"
    return response
