"""Direct debit and bank statements under load: `dues.pain008` and `dues.camt`.

Builds on the dues bench (finance/bench.py), which seeds the register and the invoices of
BASE_YEAR. `seed` gives DEBITS households with an open invoice an active mandate and makes one
draft batch of DEBITS debits (with its pre-notifications). The operations:

- `dues.pain008`: export that batch as pain.008 (built, validated against the XSD, stored) —
  inside a transaction that is rolled back afterwards, so every run exports the same draft.
- `dues.camt`: import a CAMT.053 statement of CAMT_ENTRIES lines, matched and booked: 20,000
  debits in four batch entries, 500 returned debits, 8,000 transfers naming an invoice number and
  1,500 lines that match nothing — also rolled back after each run.

`run()` measures both outside `manage.py bench` and prints the same JSON lines.
"""

from __future__ import annotations

import datetime as dt
import json
import statistics
import sys
import time
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from coop.core.models import OutboxMessage
from coop.lib.bench import Operation, count_queries, peak_rss_mb

from .camt_samples import camt_entry, camt_statement, camt_transaction
from .models import CollectionBatch, CollectionItem, Invoice, Mandate
from .services.sepa import batch_create, batch_export, is_business_day, prenotice_key

DEBITS = 30_000
CAMT_ENTRIES = 30_000
CAMT_DEBITS, CAMT_RETURNS, CAMT_TRANSFERS = 20_000, 500, 8_000
CAMT_UNMATCHED = CAMT_ENTRIES - CAMT_DEBITS - CAMT_RETURNS - CAMT_TRANSFERS

TARGETS = {
    "dues.pain008": {"max_ms": 15_000, "max_rss_growth_mb": 500},
    "dues.camt": {"max_ms": 30_000, "max_rss_growth_mb": 500},
}


class _Rollback(Exception):
    pass


def _iban(n: int) -> str:
    from schwifty import IBAN

    return str(IBAN.generate("NL", bank_code="ABNA", account_code=f"{n:010d}").compact)


def seed(*, size: int | None = None) -> None:
    """Mandates for DEBITS households with an open invoice, and one draft batch over them."""
    invoices = list(
        Invoice.objects.filter(kind=Invoice.Kind.INVOICE, status=Invoice.Status.OPEN)
        .order_by("household_id")
        .values_list("household_id", flat=True)
        .distinct()[:DEBITS]
    )
    signed_on = timezone.localdate() - dt.timedelta(days=400)
    with transaction.atomic():
        Mandate.objects.bulk_create(
            [
                Mandate(
                    household_id=household_id,
                    reference=f"WKC-B{household_id}-1",
                    iban=_iban(household_id),
                    bic="ABNANL2A",
                    account_holder=f"Rekeninghouder {household_id}",
                    signed_on=signed_on,
                    via=Mandate.Via.PAPER,
                )
                for household_id in invoices
            ],
            batch_size=5000,
        )
    day = timezone.localdate() + dt.timedelta(days=30)
    while not is_business_day(day):
        day += dt.timedelta(days=1)
    with transaction.atomic():
        batch = batch_create(collection_date=day, by=None)
        # Before the pre-notification task queued on commit runs: it then finds them all done.
        _prenotices_bulk(batch)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE finance_mandate, finance_collectionitem, core_outboxmessage")


def _prenotices_bulk(batch: CollectionBatch) -> None:
    """The batch's pre-notifications, written straight to the outbox as already printed letters
    (queueing 30,000 through the service renders and sends each one, which is not measured here)."""
    done = set(
        OutboxMessage.objects.filter(key__startswith="finance.prenotice:").values_list(
            "key", flat=True
        )
    )
    # Printed the day the batch was made: in time for any collection date it can have.
    printed_at = timezone.now() - dt.timedelta(days=1)
    rows = [
        OutboxMessage(
            key=prenotice_key(pk),
            channel=OutboxMessage.Channel.LETTER,
            status=OutboxMessage.Status.PRINTED,
            sent_at=printed_at,
            template="finance/email/prenotice",
            recipient_ref=f"finance.collectionitem:{pk}",
            to_name="Bench",
            subject="Aankondiging",
            body_text="Aankondiging",
        )
        for pk in batch.items.values_list("pk", flat=True)
        if prenotice_key(pk) not in done
    ]
    OutboxMessage.objects.bulk_create(rows, batch_size=5000)


def check_seeded(size: int | None = None) -> None:
    batch = _draft_batch()
    if batch.count < min(DEBITS, 1):
        raise RuntimeError("the direct debit batch is empty")


def _draft_batch() -> CollectionBatch:
    return (
        CollectionBatch.objects.filter(status=CollectionBatch.Status.DRAFT).order_by("-pk").first()
    )


def export_once() -> int:
    """Export the draft batch, then roll it back: returns the size of the file in bytes."""
    batch = _draft_batch()
    try:
        with transaction.atomic():
            size = len(batch_export(batch=batch, by=None))
            raise _Rollback
    except _Rollback:
        pass
    return size


# The statement --------------------------------------------------------------------------------


def camt_document(
    *,
    debits: list[CollectionItem],
    returns: list[CollectionItem],
    transfers: list[Invoice],
    unmatched: int,
    day: dt.date,
    debits_per_entry: int = 5000,
) -> bytes:
    """A camt.053.001.02 statement for the given debits, returns, transfers and noise."""
    parts, total, n = [], Decimal("0.00"), 0
    for start in range(0, len(debits), debits_per_entry):
        chunk = debits[start : start + debits_per_entry]
        amount = sum((item.amount for item in chunk), Decimal("0.00"))
        details = "".join(
            camt_transaction(
                item.end_to_end_id,
                item.amount,
                item.mandate.account_holder,
                item.mandate.iban,
                "Contributie",
            )
            for item in chunk
        )
        n += 1
        parts.append(camt_entry(f"DD-{n}", amount, "CRDT", day, details))
        total += amount
    for item in returns:
        n += 1
        details = camt_transaction(
            item.end_to_end_id,
            item.amount,
            item.mandate.account_holder,
            item.mandate.iban,
            "Storno",
            "AM04",
        )
        parts.append(camt_entry(f"RT-{n}", item.amount, "DBIT", day, details))
        total -= item.amount
    for invoice in transfers:
        n += 1
        details = camt_transaction(
            "NOTPROVIDED",
            invoice.total,
            invoice.recipient_name,
            "NL20INGB0001234567",
            f"Contributie factuur {invoice.number}",
        )
        parts.append(camt_entry(f"TR-{n}", invoice.total, "CRDT", day, details))
        total += invoice.total
    for i in range(unmatched):
        n += 1
        if i % 2:
            parts.append(
                camt_entry(f"KO-{n}", Decimal("0.35"), "DBIT", day, info="Kosten transactie")
            )
            total -= Decimal("0.35")
        else:
            details = camt_transaction(
                "NOTPROVIDED", Decimal("12.00"), "Gever", "NL18RABO0123459876", f"Gift {i}"
            )
            parts.append(camt_entry(f"GI-{n}", Decimal("12.00"), "CRDT", day, details))
            total += Decimal("12.00")
    return camt_statement(statement_id=f"BENCH-{day}", entries=parts, movement=total, day=day)


def bench_statement() -> bytes:
    """CAMT_ENTRIES lines against the seeded batch and invoices."""
    batch = _draft_batch()
    items = list(batch.items.select_related("mandate", "invoice").order_by("pk"))
    debits = items[:CAMT_DEBITS]
    returns = debits[:CAMT_RETURNS]
    transfers = [item.invoice for item in items[CAMT_DEBITS : CAMT_DEBITS + CAMT_TRANSFERS]]
    if len(transfers) < CAMT_TRANSFERS:
        in_batch = batch.items.values("invoice_id")
        extra = Invoice.objects.filter(
            kind=Invoice.Kind.INVOICE, status=Invoice.Status.OPEN
        ).exclude(pk__in=in_batch)
        transfers += list(extra.order_by("pk")[: CAMT_TRANSFERS - len(transfers)])
    return camt_document(
        debits=debits,
        returns=returns,
        transfers=transfers,
        unmatched=CAMT_ENTRIES - len(debits) - len(returns) - len(transfers),
        day=timezone.localdate(),
    )


def import_once(content: bytes) -> int:
    """Import, match and book the statement, then roll it back: returns the lines booked."""
    from .services.statements import statement_import

    try:
        with transaction.atomic():
            result = statement_import(file_name="bench.xml", content=content, by=None)
            raise _Rollback
    except _Rollback:
        pass
    if result.lines + result.already_imported < CAMT_ENTRIES:
        raise RuntimeError(f"the statement had {result.lines} lines, expected {CAMT_ENTRIES}")
    return result.lines


def operations() -> list[Operation]:
    statement: list[bytes] = []  # built on the first (warm-up) run, not before

    def camt(client) -> int:
        if not statement:
            statement.append(bench_statement())
        return import_once(statement[0])

    return [
        Operation("dues.pain008", lambda client: export_once()),
        Operation("dues.camt", camt),
    ]


def run(
    *, runs: int = 3, names: tuple[str, ...] = ("dues.pain008", "dues.camt"), stream=None
) -> list[dict]:
    """Measure outside `manage.py bench`: one warm-up, then `runs` timed runs; JSON lines out."""
    stream = stream or sys.stdout
    results = []
    for operation in operations():
        if operation.name not in names:
            continue
        before = peak_rss_mb()
        operation.run(None)
        timings = []
        with count_queries() as queries:
            for _ in range(runs):
                start = time.perf_counter()
                size = operation.run(None)
                timings.append((time.perf_counter() - start) * 1000)
        result = {
            "bench": operation.name,
            "size": DEBITS if operation.name == "dues.pain008" else CAMT_ENTRIES,
            "median_ms": round(statistics.median(timings), 2),
            "queries": queries.count // runs,
            "peak_rss_mb": peak_rss_mb(),
            "rss_growth_mb": round(peak_rss_mb() - before, 1),
            "output": size,
            "runs": runs,
            "database": connection.vendor,
        }
        stream.write(json.dumps(result) + "\n")
        stream.flush()
        results.append(result)
    return results
