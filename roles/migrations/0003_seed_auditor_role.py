"""Seed the built-in system:auditor role (reads the audit trail and every IAM object)."""

from django.db import migrations

AUDITOR = (
    "system:auditor",
    "Read-only access to the audit trail and to every IAM object, for auditors and incident "
    "responders. Console access needs system:portal:full besides.",
    [{"resource": "audit/events", "permission": "read"}, {"resource": "iam/*", "permission": "read"}],
)


def seed(apps, schema_editor):
    key, description, entries = AUDITOR
    apps.get_model("roles", "Role").objects.update_or_create(
        key=key, defaults={"description": description, "acl_entries": entries, "is_system": True}
    )


def unseed(apps, schema_editor):
    apps.get_model("roles", "Role").objects.filter(key=AUDITOR[0], bindings__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("roles", "0002_seed_system_roles")]

    operations = [migrations.RunPython(seed, unseed)]
