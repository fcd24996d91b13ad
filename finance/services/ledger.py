"""Booking money against invoices. Every booking locks its invoice and recomputes its status."""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from coop.accounts.models import User
from coop.core.services import sequence_next
from coop.lib.money import ZERO, round_money

from ..models import Invoice, LedgerEntry
from . import FinanceError


def invoice_number_next(*, year: int) -> tuple[int, str]:
    """The next gap-free invoice number of a year, drawn from the database sequence."""
    sequence = sequence_next(name=f"finance.invoice.{year}")
    return sequence, f"{year}-{sequence:06d}"


def invoice_balance(invoice: Invoice) -> Decimal:
    """What is still owed: the total minus everything booked against it."""
    booked = invoice.entries.aggregate(total=Sum("amount"))["total"] or ZERO
    return round_money(invoice.total - booked)


def invoice_lock(invoice_id: int) -> Invoice:
    return Invoice.objects.select_for_update().get(pk=invoice_id)


def invoice_refresh_status(invoice: Invoice) -> Invoice:
    """Derive the status from the ledger. Call with the invoice locked."""
    if invoice.status == Invoice.Status.CREDITED or invoice.kind == Invoice.Kind.CREDIT_NOTE:
        return invoice
    entries = invoice.entries.all()
    booked = entries.aggregate(total=Sum("amount"))["total"] or ZERO
    written_off = entries.filter(kind=LedgerEntry.Kind.WRITE_OFF).exists()
    balance = invoice.total - booked
    if balance <= 0:
        status = Invoice.Status.WRITTEN_OFF if written_off else Invoice.Status.PAID
    elif booked > 0:
        status = Invoice.Status.PARTLY_PAID
    else:
        status = Invoice.Status.OPEN
    if status != invoice.status:
        invoice.status = status
        invoice.save(update_fields=["status"])
    return invoice


@transaction.atomic
def ledger_book(
    *,
    invoice: Invoice,
    kind: str,
    source: str,
    external_id: str,
    amount: Decimal,
    booked_on: dt.date | None = None,
    note: str = "",
    reverses: LedgerEntry | None = None,
    by: User | None = None,
) -> tuple[LedgerEntry, bool]:
    """Book once. Returns (entry, created); the same (source, external_id) again books nothing."""
    if isinstance(amount, float):
        raise TypeError("amount must be Decimal")
    amount = round_money(amount)
    if amount == 0:
        raise FinanceError(_("Een boeking van € 0,00 is niet mogelijk."))
    locked = invoice_lock(invoice.pk)
    existing = LedgerEntry.objects.filter(source=source, external_id=external_id).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            entry = LedgerEntry.objects.create(
                invoice=locked,
                kind=kind,
                source=source,
                external_id=external_id,
                amount=amount,
                booked_on=booked_on or timezone.localdate(),
                note=note[:300],
                reverses=reverses,
                created_by=by,
            )
    except IntegrityError:
        return LedgerEntry.objects.get(source=source, external_id=external_id), False
    invoice_refresh_status(locked)
    invoice.status = locked.status
    return entry, True


# Many bookings at once (bank statements, a collected direct debit batch) -------------------------


@dataclass(frozen=True)
class Booking:
    """One booking for `ledger_book_many`; the same fields as `ledger_book` takes."""

    invoice_id: int
    kind: str
    source: str
    external_id: str
    amount: Decimal
    booked_on: dt.date
    note: str = ""
    reverses_id: int | None = None


def chunks(values: list, size: int = 5000):
    """Slices of `values` small enough for one `IN (...)` query."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


def invoices_refresh_status(invoice_ids) -> None:
    """`invoice_refresh_status` for many invoices in a few queries. Call with them locked."""
    ids = sorted(set(invoice_ids))
    changed: dict[str, list[int]] = {}
    for chunk in chunks(ids):
        rows = (
            Invoice.objects.filter(pk__in=chunk, kind=Invoice.Kind.INVOICE)
            .exclude(status=Invoice.Status.CREDITED)
            .annotate(
                booked=Coalesce(Sum("entries__amount"), ZERO),
                written_off=Count("entries", filter=Q(entries__kind=LedgerEntry.Kind.WRITE_OFF)),
            )
            .values_list("pk", "total", "status", "booked", "written_off")
        )
        for pk, total, old, booked, written_off in rows:
            balance = total - booked
            status: str
            if balance <= 0:
                status = Invoice.Status.WRITTEN_OFF if written_off else Invoice.Status.PAID
            elif booked > 0:
                status = Invoice.Status.PARTLY_PAID
            else:
                status = Invoice.Status.OPEN
            if status != old:
                changed.setdefault(status, []).append(pk)
    for status, pks in changed.items():
        for chunk in chunks(pks):
            Invoice.objects.filter(pk__in=chunk).update(status=status)


def bulk_work_begin() -> None:
    """For one transaction that reads and writes thousands of rows: PostgreSQL's JIT compiler
    spends about a second on each such query before it runs in milliseconds, so switch it off."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL jit = off")


@transaction.atomic
def ledger_book_many(
    *, bookings: list[Booking], by: User | None = None
) -> dict[tuple[str, str], LedgerEntry]:
    """Book many at once, each at most once: returns the new entries by (source, external_id).

    Locks every invoice involved (in primary key order, so two runs cannot deadlock), leaves out
    what was booked before, inserts the rest in bulk and refreshes the invoices' statuses.
    Every other booking locks its invoice first, so nothing can slip in between check and insert.
    """
    wanted: dict[tuple[str, str], Booking] = {}
    for booking in bookings:
        if isinstance(booking.amount, float):
            raise TypeError("amount must be Decimal")
        if round_money(booking.amount) == 0:
            raise FinanceError(_("Een boeking van € 0,00 is niet mogelijk."))
        wanted.setdefault((booking.source, booking.external_id), booking)
    if not wanted:
        return {}
    invoice_ids = sorted({b.invoice_id for b in wanted.values()})
    for chunk in chunks(invoice_ids):
        locked = Invoice.objects.select_for_update().filter(pk__in=chunk).order_by("pk")
        list(locked.values_list("pk", flat=True))
    by_source: dict[str, list[str]] = {}
    for source, external_id in wanted:
        by_source.setdefault(source, []).append(external_id)
    for source, external_ids in by_source.items():
        for chunk in chunks(external_ids):
            booked = LedgerEntry.objects.filter(source=source, external_id__in=chunk)
            for found in booked.values_list("external_id", flat=True):
                wanted.pop((source, found), None)
    entries = [
        LedgerEntry(
            invoice_id=b.invoice_id,
            kind=b.kind,
            source=b.source,
            external_id=b.external_id,
            amount=round_money(b.amount),
            booked_on=b.booked_on,
            note=b.note[:300],
            reverses_id=b.reverses_id,
            created_by=by,
        )
        for b in wanted.values()
    ]
    created = LedgerEntry.objects.bulk_create(entries, batch_size=2000)
    invoices_refresh_status(b.invoice_id for b in wanted.values())
    return {(e.source, e.external_id): e for e in created}
