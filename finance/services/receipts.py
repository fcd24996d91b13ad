"""Receipts (betalingsbewijzen): one message per payment booked, whatever the source.

Call `receipt_queue` (or `receipts_queue` for many) in the same transaction that booked the
payment: if the booking rolls back, so does the receipt. The outbox key
`finance.receipt:<ledger entry id>` makes a second call harmless, so a webhook or statement line
seen twice still sends one receipt. Members with e-mail get an e-mail, others a printed letter.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Prefetch

from coop.core.models import OutboxMessage
from coop.core.services import outbox_enqueue
from coop.lib.money import ZERO
from coop.lib.urls import absolute_url
from members.models import Member

from ..models import Invoice, LedgerEntry
from .contact import household_contact
from .ledger import invoice_balance

RECEIPT_TEMPLATE = "finance/email/receipt"


def receipt_key(entry: LedgerEntry) -> str:
    return f"finance.receipt:{entry.pk}"


def _queue(entry: LedgerEntry, invoice: Invoice, members: list[Member] | None) -> OutboxMessage:
    contact = household_contact(
        invoice.household, members=members, fallback_name=invoice.recipient_name
    )
    balance = invoice_balance(invoice)
    message, _created = outbox_enqueue(
        key=receipt_key(entry),
        template=RECEIPT_TEMPLATE,
        context={
            "name": contact.name,
            "invoice": invoice,
            "amount": entry.amount,
            "paid_on": entry.booked_on,
            "method": entry.get_source_display(),
            "balance": max(balance, ZERO),
            "surplus": -balance if balance < 0 else ZERO,
            # The rest was written off: nothing more to pay, but not "fully paid".
            "written_off": Invoice.objects.filter(
                pk=invoice.pk, status=Invoice.Status.WRITTEN_OFF
            ).exists(),
            "invoices_url": absolute_url("finance:my_invoices"),
        },
        **contact.outbox_recipient(),
    )
    return message


def receipt_queue(*, entry: LedgerEntry) -> OutboxMessage | None:
    """Queue the receipt for a payment entry; other entries (reversals, write-offs) get none."""
    if entry.kind != LedgerEntry.Kind.PAYMENT or entry.amount <= 0:
        return None
    existing = OutboxMessage.objects.filter(key=receipt_key(entry)).first()
    if existing is not None:
        return existing
    invoice = Invoice.objects.select_related("household").get(pk=entry.invoice_id)
    return _queue(entry, invoice, None)


def receipts_queue(*, entries: Iterable[LedgerEntry]) -> int:
    """`receipt_queue` for many entries (a bank statement, a collected batch); returns how many
    receipts are new."""
    payments = [e for e in entries if e.kind == LedgerEntry.Kind.PAYMENT and e.amount > 0]
    if not payments:
        return 0
    done = set(
        OutboxMessage.objects.filter(key__in=[receipt_key(e) for e in payments]).values_list(
            "key", flat=True
        )
    )
    todo = [e for e in payments if receipt_key(e) not in done]
    invoices = Invoice.objects.select_related("household").prefetch_related(
        Prefetch("household__members", to_attr="receipt_members")
    )
    by_pk = invoices.in_bulk({e.invoice_id for e in todo})
    for entry in todo:
        invoice = by_pk[entry.invoice_id]
        _queue(entry, invoice, invoice.household.receipt_members)  # type: ignore[attr-defined]
    return len(todo)
