"""Seed the built-in roles: system:owner (everything) and system:portal:full (the console)."""

from django.db import migrations

# A frozen copy: a migration must not change when the code it was written with does.
SYSTEM_ROLES = {
    "system:owner": (
        "Full administrative access to every resource and operation.",
        [{"resource": "*", "permission": "*"}],
    ),
    "system:portal:full": (
        "Complete access to the console (portal) and portal-managed resources. What a holder sees "
        "of IAM objects in the console is what its other roles allow.",
        [{"resource": "portal", "permission": "*"}, {"resource": "portal/*", "permission": "*"}],
    ),
}


def seed(apps, schema_editor):
    Role = apps.get_model("roles", "Role")
    for key, (description, entries) in SYSTEM_ROLES.items():
        Role.objects.update_or_create(
            key=key, defaults={"description": description, "acl_entries": entries, "is_system": True}
        )


def unseed(apps, schema_editor):
    apps.get_model("roles", "Role").objects.filter(key__in=SYSTEM_ROLES, bindings__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("roles", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
