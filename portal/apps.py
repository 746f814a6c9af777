"""App config for portal: the self-service pages (no models of its own)."""

from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Self-service"
