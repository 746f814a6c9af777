"""App config for jit: its console screens map onto the jit/ permissions."""

from django.apps import AppConfig


class JitConfig(AppConfig):
    name = "jit"
    verbose_name = "Just-in-time access"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from audit import audited
        from iam_project.resources import register

        register("jit.eligibility", "jit/eligibilities")
        register("jit.accessrequest", "jit/requests")
        # Access requests and approvals are recorded as jit.* events (audit.record), with their details.
        audited("jit.Eligibility", "jitEligibility", label_field="__str__")

        from roles.authority import register_obtainable
        from roles.choices import BindingSourceChoices
        from roles.services import register_binding_owner

        from .services import end_jit_binding, obtainable_entries

        register_obtainable(obtainable_entries)
        register_binding_owner(BindingSourceChoices.JIT, end_jit_binding)
