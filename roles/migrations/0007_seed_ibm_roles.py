"""Seed IBM Cloud's standard roles as built-in roles: the platform roles (Viewer, Operator, Editor,
Administrator), the service roles (Reader, Writer, Manager) and IAM Identity's ServiceIdCreator, each with
the permissions it means here. The IBM face names them by IBM's CRNs (ibmcloud's role faces)."""

from django.db import migrations

# A frozen copy: a migration must not change when the code it was written with does.
READ = {"resource": "*", "permission": "read"}
OPERATE = {"resource": "*", "permission": "operate"}
WRITE = {"resource": "*", "permission": "write"}
DELETE = {"resource": "*", "permission": "delete"}
IBM_ROLES = {
    "system:ibm:viewer": ("IBM platform role Viewer: see resources, change nothing.", [READ]),
    "system:ibm:operator": ("IBM platform role Operator: see resources and operate them (the action operate, "
                            "for the services that ask the check API); create, change or delete nothing.",
                            [READ, OPERATE]),
    "system:ibm:editor": ("IBM platform role Editor: see, operate, create, change and delete resources; no "
                          "approving of just-in-time requests and nothing else (bound account-wide it also "
                          "writes policies and roles: bind it over serviceType=service to keep it off the "
                          "platform's own access management, as IBM does).",
                          [READ, OPERATE, WRITE, DELETE]),
    "system:ibm:administrator": ("IBM platform role Administrator: every action, assigning access included.",
                                 [{"resource": "*", "permission": "*"}]),
    "system:ibm:reader": ("IBM service role Reader: read a service's data.", [READ]),
    "system:ibm:writer": ("IBM service role Writer: read and write a service's data.", [READ, WRITE]),
    "system:ibm:manager": ("IBM service role Manager: read, write, delete and operate a service's data.",
                           [READ, WRITE, DELETE, OPERATE]),
    "system:ibm:iam-identity:serviceidcreator": (
        "IAM Identity's service role ServiceIdCreator: create service IDs (iam/clients:write).",
        [{"resource": "iam/clients", "permission": "write"}]),
}


def seed(apps, schema_editor):
    Role = apps.get_model("roles", "Role")
    for key, (description, entries) in IBM_ROLES.items():
        Role.objects.update_or_create(key=key, defaults={"description": description, "acl_entries": entries,
                                                         "is_system": True})


def unseed(apps, schema_editor):
    apps.get_model("roles", "Role").objects.filter(key__in=IBM_ROLES, bindings__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("roles", "0006_policy_leaves")]

    operations = [migrations.RunPython(seed, unseed)]
