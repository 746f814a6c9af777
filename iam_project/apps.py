"""The console is Django's admin on Portcullis' own site class (access decided by the engine)."""

from django.contrib.admin.apps import AdminConfig


class ConsoleAdminConfig(AdminConfig):
    default_site = "iam_project.console.ConsoleSite"

    def ready(self):
        super().ready()
        from . import schema  # noqa: F401  (registers the OpenAPI authentication extensions)
