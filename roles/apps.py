"""App config for roles."""

from django.apps import AppConfig


class RolesConfig(AppConfig):
    name = "roles"
    verbose_name = "Roles and access"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from audit import audited
        from iam_project.access import register_engine
        from iam_project.resources import register

        from . import checks, engine, signals  # noqa: F401

        register_engine(engine)
        audited("roles.Role", "role", label_field="key")
        audited("roles.RoleBinding", "roleBinding", label_field="__str__")
        # Object permissions delegated through django-guardian are grants too.
        audited("guardian.UserObjectPermission", "objectPermission")
        audited("guardian.GroupObjectPermission", "objectPermission")
        register("roles.role", "iam/roles")
        register("roles.rolebinding", "iam/bindings")

