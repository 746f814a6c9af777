"""The moved models' tables take the IBM face's names, and their content types follow them (so object
permissions and the console's permission rows keep pointing at the same models)."""

from django.db import migrations

MOVED = (("principals", "trustedprofile"), ("principals", "claimrule"), ("roles", "policy"))


def relabel_content_types(apps, schema_editor, backwards=False):
    ContentType = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    for old_app, model in MOVED:
        source, target = ("ibmcloud", old_app) if backwards else (old_app, "ibmcloud")
        if ContentType.objects.using(db).filter(app_label=target, model=model).exists():
            continue  # already made (e.g. by a post_migrate run in between): keep it, leave the other
        ContentType.objects.using(db).filter(app_label=source, model=model).update(app_label=target)


def relabel_back(apps, schema_editor):
    relabel_content_types(apps, schema_editor, backwards=True)


class Migration(migrations.Migration):

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("ibmcloud", "0002_take_over_profiles_and_policies"),
        ("principals", "0004_profiles_leave"),
        ("roles", "0006_policy_leaves"),
    ]

    operations = [
        migrations.AlterModelTable(name="trustedprofile", table=None),
        migrations.AlterModelTable(name="claimrule", table=None),
        migrations.AlterModelTable(name="policy", table=None),
        migrations.RunPython(relabel_content_types, relabel_back),
    ]
