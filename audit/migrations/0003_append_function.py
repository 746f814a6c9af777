"""PostgreSQL: the one-call append of a chained event (audit.db.APPEND_FUNCTION)."""

from django.db import migrations


def install(apps, schema_editor):
    from audit.db import install_append_function

    install_append_function(schema_editor.connection)


def remove(apps, schema_editor):
    from audit.db import remove_append_function

    remove_append_function(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_append_only_triggers")]

    operations = [migrations.RunPython(install, remove, elidable=False)]
