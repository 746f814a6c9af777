"""App config for principals."""

from django.apps import AppConfig


class PrincipalsConfig(AppConfig):
    name = "principals"
    verbose_name = "Principals"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.conf import settings

        from audit import audited
        from iam_project.resources import register

        audited(settings.AUTH_USER_MODEL, "principal", redact={"password", "security_stamp"}, label_field="email")
        register("principals.principal", "iam/principals")
        from .sessions import signals  # noqa: F401 (sign-in session records)

