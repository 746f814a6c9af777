"""System checks for settings the engine's correctness depends on."""

from django.conf import settings
from django.core.checks import Error, Warning, register


@register()
def check_engine_settings(app_configs, **kwargs):
    problems = []
    backend = settings.CACHES.get("default", {}).get("BACKEND", "")
    if backend.endswith("DummyCache"):
        problems.append(Error(
            "The default cache is a DummyCache: every decision would recompile permissions.",
            id="iam.E001",
        ))
    if not settings.DEBUG and backend.endswith("LocMemCache"):
        problems.append(Warning(
            "A local-memory cache is not shared between processes: an invalidation in one web "
            "process is not seen by another. Set REDIS_URL in production.",
            id="iam.W001",
        ))
    if not settings.OAUTH2_PROVIDER.get("PKCE_REQUIRED", False):
        problems.append(Error("OAUTH2_PROVIDER['PKCE_REQUIRED'] must be True.", id="iam.E002"))
    return problems
