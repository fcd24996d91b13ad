"""Bank transactions get one identity whatever the file format (statement_files.EntryKeys).

Keys with the bank's reference were '{account as written}:{ref}' (with ':{tx ref}' for a
transaction in a CAMT batch entry, '#n' when repeated in a file); they become
'{bare IBAN}:{booking date}:{amount}:{ref}…', so the same transaction in an MT940 or CAMT.053
imported after this is recognised. Hashed keys ('…:h:…', 'h:…') are left as they are: they cannot
be rebuilt, and a file read again still books nothing twice by its content hash. Ledger entries
are never changed (a transfer's external_id keeps the old key; nothing depends on them being
equal). The helpers are copied here so later changes to the app do not change this migration.
"""

import hashlib
import re
from decimal import Decimal

from django.conf import settings
from django.db import migrations

_IBAN_SHAPE = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{10,30}")
_CURRENCY_SUFFIX = re.compile(r"(?<=[0-9])[A-Z]{3}$")
_NEW_FORM = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}:-?[0-9]+\.[0-9]{2}:")
_REPEATED = re.compile(r"^(.*)(#[0-9]+)$")


def _iban_valid(iban: str) -> bool:
    if not _IBAN_SHAPE.fullmatch(iban):
        return False
    return int("".join(str(int(c, 36)) for c in iban[4:] + iban[:4])) % 97 == 1


def _bare_iban(identification: str) -> str:
    compact = re.sub(r"\s", "", identification or "").upper()
    for part in (part for part in compact.split("/") if part):
        if _iban_valid(part):
            return part
        if _CURRENCY_SUFFIX.search(part) and _iban_valid(part[:-3]):
            return part[:-3]
    return ""


def _key(value: str) -> str:
    return value if len(value) <= 200 else "h:" + hashlib.sha256(value.encode()).hexdigest()


def new_key(old: str, *, booking_date, amount, statement_iban: str) -> str | None:
    """The new form of an old key, or None if it is hashed, already new, or unreadable."""
    if old.startswith("h:") or ":" not in old:
        return None
    account, rest = old.split(":", 1)
    if not rest or rest.startswith("h:") or _NEW_FORM.match(rest):
        return None
    iban = (
        _bare_iban(account)
        or _bare_iban(statement_iban)
        or _bare_iban(getattr(settings, "SEPA_CREDITOR_IBAN", ""))
    )
    if not iban:
        return None
    repeated = _REPEATED.match(rest)
    ref, suffix = (repeated.group(1), repeated.group(2)) if repeated else (rest, "")
    base = _key(f"{iban}:{booking_date:%Y-%m-%d}:{Decimal(amount).quantize(Decimal('0.01'))}:{ref}")
    return _key(base + suffix) if suffix else base


def rewrite_keys(apps, schema_editor):
    BankTransaction = apps.get_model("finance", "BankTransaction")
    rows = (
        BankTransaction.objects.exclude(entry_key__startswith="h:")
        .exclude(entry_key__contains=":h:")
        .select_related("statement")
        .only("pk", "entry_key", "booking_date", "amount", "statement__account_iban")
        .order_by("pk")
    )
    taken = set(BankTransaction.objects.values_list("entry_key", flat=True))
    changed = []
    for row in rows.iterator(chunk_size=2000):
        key = new_key(
            row.entry_key,
            booking_date=row.booking_date,
            amount=row.amount,
            statement_iban=row.statement.account_iban,
        )
        if key is None or key in taken:
            continue
        taken.discard(row.entry_key)
        taken.add(key)
        row.entry_key = key
        changed.append(row)
    # In two steps, so that a key freed by one row and taken by another never collides midway.
    for row in changed:
        row.entry_key, row.final_key = f"migrating:{row.pk}", row.entry_key
    BankTransaction.objects.bulk_update(changed, ["entry_key"], batch_size=2000)
    for row in changed:
        row.entry_key = row.final_key
    BankTransaction.objects.bulk_update(changed, ["entry_key"], batch_size=2000)


class Migration(migrations.Migration):
    dependencies = [("finance", "0005_call_notes")]

    operations = [migrations.RunPython(rewrite_keys, migrations.RunPython.noop, elidable=True)]
