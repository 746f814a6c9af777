"""The namespaced IAM settings, read with defaults in the manner of DRF's api_settings."""

from django.conf import settings
from django.core.signals import setting_changed

DEFAULTS = {
    "PERMISSION_CACHE_TIMEOUT": 300,
    "MAX_PROPERTIES_BYTES": 16 * 1024,
    "BOOTSTRAP_EMAIL": "",
    "BOOTSTRAP_PASSWORD": "",
    "TRUSTED_PROXY_COUNT": 0,
    "CONSOLE_PERMISSION": "portal:access",
}


class IAMSettings:
    def __getattr__(self, name):
        if name not in DEFAULTS:
            raise AttributeError(f"Unknown IAM setting: {name}")
        return getattr(settings, "IAM", {}).get(name, DEFAULTS[name])


iam_settings = IAMSettings()


def handle_setting_changed(setting, **kwargs):
    # Nothing is memoised, but keep the hook so tests overriding IAM behave like DRF's settings.
    return None


setting_changed.connect(handle_setting_changed)
