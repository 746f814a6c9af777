"""The Graph query's page order of clients, (created, id); see principals' 0006_graph_keyset_index."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("clients", "0005_api_key_issues")]

    operations = [
        migrations.RunSQL(
            "CREATE INDEX IF NOT EXISTS clients_graph_created_id ON clients_client (created, id)",
            "DROP INDEX IF EXISTS clients_graph_created_id",
        ),
    ]
