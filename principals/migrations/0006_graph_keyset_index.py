"""The Graph query's page order, (created_at, id): a keyset page of principals reads 51 index entries
instead of sorting every match. Plain SQL (no model state): the other identity indexes are the
models' own."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("principals", "0005_sign_in_sessions")]

    operations = [
        migrations.RunSQL(
            "CREATE INDEX IF NOT EXISTS principals_graph_created_id ON principals_principal (created_at, id)",
            "DROP INDEX IF EXISTS principals_graph_created_id",
        ),
    ]
