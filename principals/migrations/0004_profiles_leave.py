"""Trusted profiles and claim rules belong to the IBM-compatible face now, which takes over their tables
(state only here: no table is dropped, no row lost)."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [("principals", "0003_security_stamp")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="ClaimRule"), migrations.DeleteModel(name="TrustedProfile")],
            database_operations=[],
        ),
    ]
