"""Access policies belong to the IBM-compatible face now, which takes over their table (state only here:
no table is dropped, no row lost)."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [("roles", "0005_resource_server_role")]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[migrations.DeleteModel(name="Policy")],
                                            database_operations=[]),
    ]
