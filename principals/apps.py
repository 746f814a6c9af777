"""App config for principals."""

from django.apps import AppConfig


class PrincipalsConfig(AppConfig):
    name = "principals"
    verbose_name = "Principals"
    default_auto_field = "django.db.models.BigAutoField"
