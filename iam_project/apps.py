"""The console is Django's admin on Portcullis' own site class (access decided by the engine)."""

from django.contrib.admin.apps import AdminConfig


class ConsoleAdminConfig(AdminConfig):
    default_site = "iam_project.console.ConsoleSite"
