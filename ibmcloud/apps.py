"""App config for ibmcloud: the IBM Cloud IAM-compatible face of the platform (snake_case API)."""

from django.apps import AppConfig


class IbmCloudConfig(AppConfig):
    name = "ibmcloud"
    verbose_name = "IBM Cloud IAM compatibility"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from audit import audited
        from iam_project.resources import register

        audited("ibmcloud.AccountSettings", "accountSettings", label_field="account_id")
        register("ibmcloud.accountsettings", "iam/account")
