"""Indexes for searching members on PostgreSQL: trigram for 'contains', pattern ops for prefixes.

They exist only on PostgreSQL; the embedded SQLite demo is small enough without them.
"""

from django.db import migrations

CREATE = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS member_search_name_trgm ON members_member USING gin (search_name gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS member_email_trgm ON members_member USING gin (lower(email) gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS household_postcode_prefix ON members_household (postcode varchar_pattern_ops)",
]
DROP = [
    "DROP INDEX IF EXISTS member_search_name_trgm",
    "DROP INDEX IF EXISTS member_email_trgm",
    "DROP INDEX IF EXISTS household_postcode_prefix",
]


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in CREATE:
            schema_editor.execute(statement)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in DROP:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("members", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
