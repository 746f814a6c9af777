"""Seed the built-in system:resource-server role: introspecting tokens at /oauth/introspect/."""

from django.db import migrations

RESOURCE_SERVER = (
    "system:resource-server",
    "For the clients of resource servers: introspect access tokens (RFC 7662). Who a token belongs "
    "to and what it may do are shown only for identities the client may also read "
    "(iam/principals:read, iam/clients:read) and for the client's own tokens.",
    [{"resource": "oauth/introspect", "permission": "read"}],
)


def seed(apps, schema_editor):
    key, description, entries = RESOURCE_SERVER
    apps.get_model("roles", "Role").objects.update_or_create(
        key=key, defaults={"description": description, "acl_entries": entries, "is_system": True}
    )


def unseed(apps, schema_editor):
    apps.get_model("roles", "Role").objects.filter(key=RESOURCE_SERVER[0], bindings__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("roles", "0004_policy")]

    operations = [migrations.RunPython(seed, unseed)]
