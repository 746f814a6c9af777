"""Migration helpers: PostgreSQL-only indexes (expression, trigram and JSON indexes SQLite has no use for)."""

import logging

from django.db import DatabaseError, transaction

logger = logging.getLogger(__name__)


def postgres_indexes(indexes):
    """(create, drop) functions for ``RunPython`` from ``[(name, create_sql, extension or None)]``. An index
    whose extension cannot be created (no privilege) is skipped with a warning: the lookup still works,
    only slower — the operator can create the extension and run the migration again (docs/operations.md)."""

    def create(apps, schema_editor):
        connection = schema_editor.connection
        if connection.vendor != "postgresql":
            return
        with connection.cursor() as cursor:
            for name, sql, extension in indexes:
                if extension:
                    try:
                        with transaction.atomic(using=connection.alias):
                            cursor.execute(f"CREATE EXTENSION IF NOT EXISTS {extension}")
                    except DatabaseError as exc:
                        logger.warning("migration.index_skipped index=%s extension=%s error=%s", name, extension,
                                       type(exc).__name__)
                        continue
                cursor.execute(sql)

    def drop(apps, schema_editor):
        connection = schema_editor.connection
        if connection.vendor != "postgresql":
            return
        with connection.cursor() as cursor:
            for name, _, _ in indexes:
                cursor.execute(f"DROP INDEX IF EXISTS {name}")

    return create, drop
