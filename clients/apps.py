"""App config for clients."""

from django.apps import AppConfig


class ClientsConfig(AppConfig):
    name = "clients"
    verbose_name = "Clients"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.conf import settings

        from audit import audited
        from iam_project.resources import register

        from roles.authority import register_obtainable

        from . import authcache, services, signals

        audited(settings.OAUTH2_PROVIDER_APPLICATION_MODEL, "client", redact={"client_secret"},
                exclude={"client_id", "authorization_grant_type", "hash_client_secret", "user"}, label_field="name")
        audited("clients.ClientSecret", "clientSecret", exclude={"last_used_at"}, label_field="prefix")
        audited("clients.ApiKey", "apiKey", exclude={"last_used_at", "modified_at"}, label_field="name")
        signals.connect()
        authcache.connect()  # introspection's warm client authentication follows secret changes
        register_obtainable(services.delegated_power)
        register("clients.client", "iam/clients")
        register("clients.clientsecret", "iam/clients")
        register("clients.apikey", "iam/apikeys")
