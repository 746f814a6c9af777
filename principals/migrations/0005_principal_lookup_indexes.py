"""Indexes for the principal lookups the API and the graph query make (PostgreSQL; a no-op elsewhere).

* ``principal_email_upper_idx`` — ``email`` matched case-insensitively (``iexact``: ``UPPER(email) = UPPER(%s)``);
* ``principal_email_trgm_idx`` — ``emailContains`` (``icontains``: ``UPPER(email) LIKE UPPER('%…%')``), a trigram
  index (extension pg_trgm; skipped with a warning where the extension cannot be created);
* ``principal_properties_gin_idx`` — ``properties`` containment (``properties @> {…}``, ``jsonb_path_ops``).

Ordering by email (the list's cursor) is served by the unique index on ``email``; ``rolePrefix`` by the
bindings' (role, principal) index. The indexes live outside the model state: they are PostgreSQL's only.
"""

from django.db import migrations

from iam_project.migration_sql import postgres_indexes

INDEXES = [
    ("principal_email_upper_idx", "CREATE INDEX IF NOT EXISTS principal_email_upper_idx "
                                  "ON principals_principal (UPPER(email::text))", None),
    ("principal_email_trgm_idx", "CREATE INDEX IF NOT EXISTS principal_email_trgm_idx "
                                 "ON principals_principal USING gin (UPPER(email::text) gin_trgm_ops)", "pg_trgm"),
    ("principal_properties_gin_idx", "CREATE INDEX IF NOT EXISTS principal_properties_gin_idx "
                                     "ON principals_principal USING gin (properties jsonb_path_ops)", None),
]

create, drop = postgres_indexes(INDEXES)


class Migration(migrations.Migration):

    dependencies = [("principals", "0004_profiles_leave")]

    operations = [migrations.RunPython(create, drop)]
