"""Indexes for the client lookups the API and the graph query make (PostgreSQL; a no-op elsewhere).

* ``client_name_id_idx`` — the list's order and cursor (``name``, ``id``), flat however deep the page;
* ``client_name_upper_idx`` — ``name`` matched case-insensitively (``iexact``);
* ``client_name_trgm_idx`` — ``nameContains`` (``icontains``), a trigram index (extension pg_trgm);
* ``client_properties_gin_idx`` — ``properties`` containment (``jsonb_path_ops``).
"""

from django.db import migrations

from iam_project.migration_sql import postgres_indexes

INDEXES = [
    ("client_name_id_idx", "CREATE INDEX IF NOT EXISTS client_name_id_idx ON clients_client (name, id)", None),
    ("client_name_upper_idx", "CREATE INDEX IF NOT EXISTS client_name_upper_idx "
                              "ON clients_client (UPPER(name::text))", None),
    ("client_name_trgm_idx", "CREATE INDEX IF NOT EXISTS client_name_trgm_idx "
                             "ON clients_client USING gin (UPPER(name::text) gin_trgm_ops)", "pg_trgm"),
    ("client_properties_gin_idx", "CREATE INDEX IF NOT EXISTS client_properties_gin_idx "
                                  "ON clients_client USING gin (properties jsonb_path_ops)", None),
]

create, drop = postgres_indexes(INDEXES)


class Migration(migrations.Migration):

    dependencies = [("clients", "0005_api_key_issues")]

    operations = [migrations.RunPython(create, drop)]
