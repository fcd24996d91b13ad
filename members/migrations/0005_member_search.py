"""Finding members by address and phone number.

- `Member.phone_digits`: the phone number in the digits-only national form of coop.lib.phone,
  filled here for existing members (one UPDATE on PostgreSQL; in batches on SQLite, which has
  no regexp_replace), kept by the services from then on; a pattern-ops index for prefixes.
- `Household.house_number` gets an index for a house number typed without a street ('28A'),
  and `street` one that SQLite scans for part of a street, instead of the whole table.
- PostgreSQL only, like 0002: a trigram index on lower(street), for a street or part of one.
"""

import re

from django.db import migrations, models

# coop.lib.phone.phone_digits, as it was when this migration was written; the SQL below is the
# same rule. A copy, so that a later change to the helper cannot change what this migration does.
_LEADING_PLUS = re.compile(r"^\s*\+")
_NOT_DIGIT = re.compile(r"[^0-9]")


def _phone_digits(value):
    digits = _NOT_DIGIT.sub("", _LEADING_PLUS.sub("00", value or "", count=1))
    if digits.startswith("0031"):
        return "0" + digits[4:].removeprefix("0")
    return digits


FILL_SQL = r"""
WITH typed AS (
    SELECT id, regexp_replace(regexp_replace(phone, '^\s*\+', '00'), '[^0-9]', '', 'g') AS digits
    FROM members_member
    WHERE phone <> ''
)
UPDATE members_member AS m
SET phone_digits = CASE
    WHEN left(typed.digits, 4) = '0031' THEN '0' || regexp_replace(substr(typed.digits, 5), '^0', '')
    ELSE typed.digits
END
FROM typed
WHERE m.id = typed.id
"""
BATCH_SIZE = 2000


def fill_phone_digits(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FILL_SQL)
        return
    Member = apps.get_model("members", "Member")
    members = Member.objects.using(schema_editor.connection.alias).exclude(phone="")
    batch = []
    for member in members.only("pk", "phone").iterator(chunk_size=BATCH_SIZE):
        member.phone_digits = _phone_digits(member.phone)
        batch.append(member)
        if len(batch) == BATCH_SIZE:
            Member.objects.bulk_update(batch, ["phone_digits"])
            batch = []
    Member.objects.bulk_update(batch, ["phone_digits"])


CREATE = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS household_street_trgm "
    "ON members_household USING gin (lower(street) gin_trgm_ops)",
]
DROP = ["DROP INDEX IF EXISTS household_street_trgm"]


def create_street_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in CREATE:
            schema_editor.execute(statement)


def drop_street_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in DROP:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("members", "0004_signup_application")]

    operations = [
        migrations.AddField(
            model_name="member",
            name="phone_digits",
            field=models.CharField(blank=True, default="", editable=False, max_length=32),
        ),
        # Filled before its index is built: one index build instead of 50,000 index updates.
        migrations.RunPython(fill_phone_digits, migrations.RunPython.noop, elidable=True),
        migrations.AddIndex(
            model_name="member",
            index=models.Index(
                fields=["phone_digits"],
                name="member_phone_digits",
                opclasses=["varchar_pattern_ops"],
            ),
        ),
        migrations.AddIndex(
            model_name="household",
            index=models.Index(fields=["house_number"], name="household_house_number"),
        ),
        migrations.AddIndex(
            model_name="household",
            index=models.Index(fields=["street"], name="household_street"),
        ),
        migrations.RunPython(create_street_index, drop_street_index),
    ]
