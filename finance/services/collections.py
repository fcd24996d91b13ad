"""Booking collected direct debits: the one way, whether the treasurer marks a batch collected or
a bank statement shows the debit (one by one, or as one batch total).

- Each debit is booked as a payment with its EndToEndId as external id, so a statement imported
  after the batch was marked collected (or before) books nothing twice.
- Its collection item becomes "collected" only from "pending" (a returned one stays returned).
- Every payment booked now gets a receipt, sent by a task once the booking has committed (there
  may be thousands).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from coop.accounts.models import User
from coop.lib.tasks import task_enqueue

from ..models import CollectionBatch, CollectionItem, LedgerEntry
from . import FinanceError
from .ledger import Booking, bulk_work_begin, chunks, ledger_book_many


@dataclass(frozen=True, slots=True)
class Collected:
    """A debit the bank collected: which item, how much and on which day."""

    item_id: int
    invoice_id: int
    end_to_end_id: str
    batch_message_id: str
    amount: Decimal
    booked_on: dt.date


def debit_booking(debit: Collected) -> Booking:
    return Booking(
        invoice_id=debit.invoice_id,
        kind=LedgerEntry.Kind.PAYMENT,
        source=LedgerEntry.Source.SEPA,
        external_id=debit.end_to_end_id,
        amount=debit.amount,
        booked_on=debit.booked_on,
        note=_("Incasso %(batch)s") % {"batch": debit.batch_message_id},
    )


@transaction.atomic
def debits_book_collected(
    *, debits: Sequence[Collected], by: User | None, receipts: bool = True
) -> dict[tuple[str, str], LedgerEntry]:
    """Book each debit once, mark its item collected and queue a receipt for each new payment.

    `receipts=False` only for a debit booked so that its return, in the same statement, has
    something to reverse: the member is told about the return instead.
    Returns the entries booked now, by (source, external id).
    """
    created = ledger_book_many(bookings=[debit_booking(d) for d in debits], by=by)
    item_ids = sorted({d.item_id for d in debits})
    for chunk in chunks(item_ids):
        CollectionItem.objects.filter(pk__in=chunk, status=CollectionItem.Status.PENDING).update(
            status=CollectionItem.Status.COLLECTED
        )
    entry_ids = [entry.pk for entry in created.values()]
    if receipts and entry_ids:
        task_enqueue("finance.tasks.receipts_send_task", entry_ids)
    return created


def batch_pending_debits(batch: CollectionBatch, *, booked_on: dt.date) -> list[Collected]:
    """Every debit of the batch still pending, as collected on `booked_on`."""
    pending = batch.items.filter(status=CollectionItem.Status.PENDING).order_by("pk")
    return [
        Collected(
            item_id=pk,
            invoice_id=invoice_id,
            end_to_end_id=e2e,
            batch_message_id=batch.message_id,
            amount=amount,
            booked_on=booked_on,
        )
        for pk, invoice_id, e2e, amount in pending.values_list(
            "pk", "invoice_id", "end_to_end_id", "amount"
        )
    ]


@transaction.atomic
def batch_mark_collected(
    *, batch: CollectionBatch, by: User | None, today: dt.date | None = None
) -> int:
    """The bank collected the batch: book a payment for every debit still pending.

    Returns how many payments were booked now.
    """
    bulk_work_begin()
    today = today or timezone.localdate()
    batch = CollectionBatch.objects.select_for_update().get(pk=batch.pk)
    if batch.status == CollectionBatch.Status.DRAFT:
        raise FinanceError(_("Exporteer de batch eerst en lever het bestand bij de bank in."))
    if batch.status == CollectionBatch.Status.COLLECTED:
        raise FinanceError(_("Deze batch is al als geïncasseerd gemarkeerd."))
    if today < batch.collection_date:
        raise FinanceError(
            _("De incassodatum (%(date)s) is nog niet bereikt.")
            % {"date": batch.collection_date.strftime("%d-%m-%Y")}
        )
    created = debits_book_collected(
        debits=batch_pending_debits(batch, booked_on=batch.collection_date), by=by
    )
    batch.status = CollectionBatch.Status.COLLECTED
    batch.save(update_fields=["status"])
    return len(created)
