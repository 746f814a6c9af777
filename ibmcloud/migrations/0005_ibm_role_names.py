"""IBM's names and CRNs of IBM's standard roles (seeded as built-in roles by roles.0007)."""

from django.db import migrations

# A frozen copy: key -> (name, CRN, kind, service_name)
IBM_ROLE_NAMES = {
    "system:ibm:viewer": ("Viewer", "crn:v1:bluemix:public:iam::::role:Viewer", "platform", ""),
    "system:ibm:operator": ("Operator", "crn:v1:bluemix:public:iam::::role:Operator", "platform", ""),
    "system:ibm:editor": ("Editor", "crn:v1:bluemix:public:iam::::role:Editor", "platform", ""),
    "system:ibm:administrator": ("Administrator", "crn:v1:bluemix:public:iam::::role:Administrator", "platform", ""),
    "system:ibm:reader": ("Reader", "crn:v1:bluemix:public:iam::::serviceRole:Reader", "service", ""),
    "system:ibm:writer": ("Writer", "crn:v1:bluemix:public:iam::::serviceRole:Writer", "service", ""),
    "system:ibm:manager": ("Manager", "crn:v1:bluemix:public:iam::::serviceRole:Manager", "service", ""),
    "system:ibm:iam-identity:serviceidcreator": (
        "ServiceIdCreator", "crn:v1:bluemix:public:iam-identity::::serviceRole:ServiceIdCreator", "service",
        "iam-identity"),
}


def seed(apps, schema_editor):
    Role = apps.get_model("roles", "Role")
    RoleFace = apps.get_model("ibmcloud", "RoleFace")
    for key, (name, crn, kind, service) in IBM_ROLE_NAMES.items():
        role = Role.objects.filter(key=key).first()
        if role is not None:
            RoleFace.objects.update_or_create(role=role, defaults={
                "name": name, "display_name": name, "crn": crn, "kind": kind, "service_name": service,
                "actions": []})


def unseed(apps, schema_editor):
    apps.get_model("ibmcloud", "RoleFace").objects.filter(role__key__in=IBM_ROLE_NAMES).delete()


class Migration(migrations.Migration):
    dependencies = [("ibmcloud", "0004_ibm_compatibility"), ("roles", "0007_seed_ibm_roles")]

    operations = [migrations.RunPython(seed, unseed)]
