"""Booking money against invoices. Every booking locks its invoice and recomputes its status.

A payment that arrives after the invoice was written off (a late transfer, cash at the door)
reverses the write-off as far as it pays for it: `ledger_book` and `ledger_book_many` book a
reversal of the write-off for min(surplus, what is left of the write-off), so the invoice is paid
again, or stays written off for the rest, instead of showing money paid too much.
"""

import datetime as dt
import hashlib
from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.db.models import Count, OuterRef, Q, Subquery, Sum
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


def booked_on_invoice(invoice_ref: str = "pk") -> Coalesce:
    """What is booked on the invoice at `OuterRef(invoice_ref)` (zero when nothing), to annotate
    many invoices, or rows that point at one, in one query."""
    summed = (
        LedgerEntry.objects.filter(invoice=OuterRef(invoice_ref))
        .order_by()
        .values("invoice")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    return Coalesce(Subquery(summed), ZERO)


def invoice_lock(invoice_id: int) -> Invoice:
    return Invoice.objects.select_for_update().get(pk=invoice_id)


# Write-offs and the reversals of write-offs: their sum is what is still written off.
_WRITTEN_OFF = Q(kind=LedgerEntry.Kind.WRITE_OFF) | Q(
    kind=LedgerEntry.Kind.REVERSAL, reverses__kind=LedgerEntry.Kind.WRITE_OFF
)
_ENTRIES_WRITTEN_OFF = Q(entries__kind=LedgerEntry.Kind.WRITE_OFF) | Q(
    entries__kind=LedgerEntry.Kind.REVERSAL, entries__reverses__kind=LedgerEntry.Kind.WRITE_OFF
)


def _status(*, total: Decimal, booked: Decimal, written_off: Decimal) -> str:
    """Written off only while some write-off is not reversed; a reversed write-off and full
    payment is paid."""
    if total - booked <= 0:
        return Invoice.Status.WRITTEN_OFF if written_off > 0 else Invoice.Status.PAID
    if booked > 0:
        return Invoice.Status.PARTLY_PAID
    return Invoice.Status.OPEN


def invoice_refresh_status(invoice: Invoice) -> Invoice:
    """Derive the status from the ledger. Call with the invoice locked."""
    if invoice.status == Invoice.Status.CREDITED or invoice.kind == Invoice.Kind.CREDIT_NOTE:
        return invoice
    sums = invoice.entries.aggregate(
        booked=Coalesce(Sum("amount"), ZERO),
        written_off=Coalesce(Sum("amount", filter=_WRITTEN_OFF), ZERO),
    )
    status = _status(total=invoice.total, booked=sums["booked"], written_off=sums["written_off"])
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
    if entry.kind == LedgerEntry.Kind.PAYMENT and entry.amount > 0:
        write_offs_reverse_after_payment(payments=[entry], by=by)
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
                written_off=Coalesce(Sum("entries__amount", filter=_ENTRIES_WRITTEN_OFF), ZERO),
            )
            .values_list("pk", "total", "status", "booked", "written_off")
        )
        for pk, total, old, booked, written_off in rows:
            status = _status(total=total, booked=booked, written_off=written_off)
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
    write_offs_reverse_after_payment(
        payments=[e for e in created if e.kind == LedgerEntry.Kind.PAYMENT and e.amount > 0], by=by
    )
    invoices_refresh_status(b.invoice_id for b in wanted.values())
    return {(e.source, e.external_id): e for e in created}


# A late payment on a written-off invoice ---------------------------------------------------------


def write_off_reversal_id(*, payment: LedgerEntry, write_off: LedgerEntry) -> str:
    """The external id (source manual) of the reversal of a write-off that a payment paid for."""
    return f"write-off-reversed:{payment.pk}:{write_off.pk}"


def write_offs_left(invoice_ids) -> dict[int, list[tuple[LedgerEntry, Decimal]]]:
    """Per invoice, its write-offs with what is not reversed of each, newest first; fully
    reversed write-offs are left out."""
    left: dict[int, list[tuple[LedgerEntry, Decimal]]] = {}
    for chunk in chunks(sorted(set(invoice_ids))):
        write_offs = (
            LedgerEntry.objects.filter(invoice_id__in=chunk, kind=LedgerEntry.Kind.WRITE_OFF)
            .annotate(reversed_amount=Coalesce(Sum("reversals__amount"), ZERO))
            .order_by("-booked_on", "-pk")
        )
        for write_off in write_offs:
            rest = round_money(write_off.amount + write_off.reversed_amount)  # type: ignore[attr-defined]
            if rest > 0:
                left.setdefault(write_off.invoice_id, []).append((write_off, rest))
    return left


def write_offs_reverse_after_payment(
    *, payments: list[LedgerEntry], by: User | None = None
) -> list[LedgerEntry]:
    """For each invoice a payment made overpaid while a write-off on it is not fully reversed:
    reverse the write-off by min(surplus, what is left of it). Call with the invoices locked,
    before their statuses are refreshed. Reads only invoices with a write-off: a few queries."""
    latest: dict[int, LedgerEntry] = {}
    for payment in payments:
        if payment.invoice_id not in latest or payment.pk > latest[payment.invoice_id].pk:
            latest[payment.invoice_id] = payment
    if not latest:
        return []
    with_write_off: set[int] = set()
    for chunk in chunks(sorted(latest)):
        with_write_off.update(
            LedgerEntry.objects.filter(invoice_id__in=chunk, kind=LedgerEntry.Kind.WRITE_OFF)
            .values_list("invoice_id", flat=True)
            .distinct()
        )
    if not with_write_off:
        return []
    left = write_offs_left(with_write_off)
    if not left:
        return []
    balances = {
        pk: round_money(total - booked)
        for pk, total, booked in Invoice.objects.filter(
            pk__in=list(left), kind=Invoice.Kind.INVOICE
        )
        .exclude(status=Invoice.Status.CREDITED)
        .annotate(booked=Coalesce(Sum("entries__amount"), ZERO))
        .values_list("pk", "total", "booked")
    }
    reversals = []
    for invoice_id, balance in sorted(balances.items()):
        surplus = -balance
        payment = latest[invoice_id]
        for write_off, rest in left[invoice_id]:
            if surplus <= 0:
                break
            amount = min(surplus, rest)
            surplus -= amount
            reversals.append(
                LedgerEntry(
                    invoice_id=invoice_id,
                    kind=LedgerEntry.Kind.REVERSAL,
                    source=LedgerEntry.Source.MANUAL,
                    external_id=write_off_reversal_id(payment=payment, write_off=write_off),
                    amount=-amount,
                    booked_on=payment.booked_on,
                    note=_("Afboeking teruggedraaid: er is alsnog betaald (%(method)s, %(date)s).")
                    % {
                        "method": payment.get_source_display(),
                        "date": payment.booked_on.strftime("%d-%m-%Y"),
                    },
                    reverses=write_off,
                    created_by=by,
                )
            )
    return LedgerEntry.objects.bulk_create(reversals)


# Transfers linked again after a reversal ----------------------------------------------------------


def transfer_external_id(entry_key: str) -> str:
    """The external id for booking a bank line as a transfer: its entry key, or, when that entry
    was booked and then reversed (the line was linked to the wrong invoice), the key with ~1, ~2…
    so the line can be linked again and books once more."""
    candidate, number = entry_key, 0
    while True:
        existing = (
            LedgerEntry.objects.filter(source=LedgerEntry.Source.TRANSFER, external_id=candidate)
            .annotate(reversal_count=Count("reversals"))
            .first()
        )
        if existing is None or not existing.reversal_count:  # type: ignore[attr-defined]
            return candidate
        number += 1
        candidate = f"{entry_key}~{number}"
        if len(candidate) > 200:
            candidate = "h:" + hashlib.sha256(candidate.encode()).hexdigest()
