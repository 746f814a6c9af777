"""The namespaced IAM settings, read with defaults in the manner of DRF's api_settings."""

from django.conf import settings

DEFAULTS = {
    "PERMISSION_CACHE_TIMEOUT": 300,
    "MAX_PROPERTIES_BYTES": 16 * 1024,
    "BOOTSTRAP_EMAIL": "",
    "BOOTSTRAP_PASSWORD": "",
    "TRUSTED_PROXY_COUNT": 0,
    "CONSOLE_PERMISSION": "portal:access",
    "AUDIT_CHAIN_LANES": 8,
    # The outbox (iam_project/outbox.py).
    "OUTBOX_BATCH": 100,
    "OUTBOX_RETRY_SECONDS": 5,
    "OUTBOX_RETRY_MAX_SECONDS": 300,
    "OUTBOX_PAUSE_SECONDS": 15,
    "OUTBOX_REDELIVER_SECONDS": 1800,
    "OUTBOX_RETENTION_DAYS": 10,
    # Multi-factor sign-in (mfa app; iam_project.stepup): a second factor no older than this is needed
    # before privileged operations (None: step-up off); a sign-in waiting for its second factor expires.
    "MFA_STEP_UP_MINUTES": 10,
    "MFA_PENDING_SECONDS": 300,
    # Holders of these roles must use a second factor whatever the level (the policy row's first value).
    "MFA_REQUIRED_ROLES": ["system:owner"],
}


class IAMSettings:
    """Reads settings.IAM on every access (nothing memoised), so overriding settings in tests just works."""

    def __getattr__(self, name):
        if name not in DEFAULTS:
            raise AttributeError(f"Unknown IAM setting: {name}")
        return getattr(settings, "IAM", {}).get(name, DEFAULTS[name])


iam_settings = IAMSettings()
