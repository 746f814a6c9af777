"""App config for mfa: the second step of sign-in, the step-up check's applicability, the sign-in receiver."""

from django.apps import AppConfig


class MfaConfig(AppConfig):
    name = "mfa"
    verbose_name = "Multi-factor sign-in"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in

        from iam_project.signin import register_second_step
        from iam_project.stepup import register_applies

        from . import services, signin

        register_second_step(signin.begin)
        register_applies(services.has_factor)
        # After clients' receiver (which stamps auth_time): this one writes auth_time and amr together.
        user_logged_in.connect(signin.handle_user_logged_in, dispatch_uid="mfa.amr")
