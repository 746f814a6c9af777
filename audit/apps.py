"""App config for audit: connects the receivers for every audited model."""

from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit trail"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from iam_project.resources import register

        from . import signals

        register("audit.auditevent", "audit/events")
        register("audit.chainhead", "audit/events")
        signals.connect()
