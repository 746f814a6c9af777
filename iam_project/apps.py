"""The console is Django's admin on Portcullis' own site class (access decided by the engine)."""

from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig


class ConsoleAdminConfig(AdminConfig):
    default_site = "iam_project.console.ConsoleSite"

    def ready(self):
        super().ready()
        from . import schema  # noqa: F401  (registers the OpenAPI authentication extensions)


class PlatformConfig(AppConfig):
    """The platform's own app: listed first in INSTALLED_APPS so that its management commands stand in
    for stock ones that would bypass the services (createsuperuser, createapplication)."""

    name = "iam_project"
    label = "platform"
    verbose_name = "Portcullis"

    def ready(self):
        from . import metrics

        metrics.connect()  # lock-outs (django-axes) and task failures (Celery) counted

        from . import authcache

        authcache.connect()  # the bearer-token cache follows token revocations and identity changes
