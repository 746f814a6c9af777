"""App config for jit."""

from django.apps import AppConfig


class JitConfig(AppConfig):
    name = "jit"
    verbose_name = "Just-in-time access"
    default_auto_field = "django.db.models.BigAutoField"
