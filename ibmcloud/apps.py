"""App config for ibmcloud: the IBM Cloud IAM-compatible face of the platform (snake_case API)."""

from django.apps import AppConfig


class IbmCloudConfig(AppConfig):
    name = "ibmcloud"
    verbose_name = "IBM Cloud IAM compatibility"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # The core apps know nothing of this face: it plugs its models and bindings into them here.
        from audit import audited
        from iam_project.hooks import bootstrapped
        from iam_project.resources import register
        from roles.choices import BindingSourceChoices
        from roles.services import register_binding_owner

        from . import signals
        from .services import end_policy_binding

        audited("ibmcloud.TrustedProfile", "trustedProfile", label_field="name")
        audited("ibmcloud.ClaimRule", "claimRule", label_field="name")
        audited("ibmcloud.Policy", "policy", label_field="__str__")
        audited("ibmcloud.AccountSettings", "accountSettings", label_field="account_id")
        audited("ibmcloud.RoleFace", "roleFace", label_field="crn")
        audited("ibmcloud.ServiceIdGroup", "serviceIdGroup", label_field="name")
        audited("ibmcloud.ProfileLink", "profileLink", label_field="__str__")
        audited("ibmcloud.ProfileIdentity", "profileIdentity", label_field="__str__")
        audited("ibmcloud.Preference", "preference", label_field="__str__")
        # A report's result lists the account's identities: it is read through the API, not copied into the trail.
        audited("ibmcloud.ActivityReport", "activityReport", exclude=("result",), label_field="reference")
        register("ibmcloud.accountsettings", "iam/account")
        register("ibmcloud.trustedprofile", "iam/profiles")
        register("ibmcloud.claimrule", "iam/profiles")
        register("ibmcloud.policy", "iam/policies")
        register("ibmcloud.serviceidgroup", "iam/clients")
        register("ibmcloud.profilelink", "iam/profiles")
        register("ibmcloud.profileidentity", "iam/profiles")
        register_binding_owner(BindingSourceChoices.POLICY, end_policy_binding)
        bootstrapped.connect(signals.handle_bootstrapped, dispatch_uid="ibmcloud.account")
