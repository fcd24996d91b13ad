"""Booking money against invoices. Every booking locks its invoice and recomputes its status."""

import datetime as dt
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

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
        raise FinanceError("Een boeking van € 0,00 is niet mogelijk.")
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
