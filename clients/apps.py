"""App config for clients."""

from django.apps import AppConfig


class ClientsConfig(AppConfig):
    name = "clients"
    verbose_name = "Clients"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from iam_project.resources import register

        from . import signals

        signals.connect()
        register("clients.client", "iam/clients")
        register("clients.clientsecret", "iam/clients")
        register("clients.apikey", "iam/apikeys")
