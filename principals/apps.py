"""App config for principals."""

from django.apps import AppConfig


class PrincipalsConfig(AppConfig):
    name = "principals"
    verbose_name = "Principals"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from iam_project.resources import register

        register("principals.principal", "iam/principals")
        register("principals.trustedprofile", "iam/profiles")
        register("principals.claimrule", "iam/profiles")
