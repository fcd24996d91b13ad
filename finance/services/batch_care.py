"""Looking after a direct debit batch between creating it and the money arriving.

- Pre-notices on paper: a member without e-mail gets the pre-notice as a letter. A batch cannot
  be exported while such a letter is unprinted, or was printed fewer than
  SEPA_PRENOTIFICATION_DAYS (14) days before the collection date (the day it was printed counts
  as the letter's date). The treasurer prints the letters and picks a later date, or takes those
  households out of the (draft) batch; a letter not yet printed is then dropped.
- Paid twice: an invoice in an exported batch that is paid another way (a transfer, iDEAL, cash)
  is flagged at once. Before the collection date the advice is to withdraw the debit at the bank
  and mark it withdrawn here; after it, to refund one of the two.
- Done: an exported batch with no pending debit left (collected, returned or withdrawn) is
  collected.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import CharField, Exists, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Cast, Coalesce, Concat
from django.utils import timezone
from django.utils.translation import gettext as _

from coop.accounts.models import User
from coop.core.models import OutboxMessage
from coop.lib.money import ZERO, round_money

from ..models import CollectionBatch, CollectionItem, LedgerEntry
from . import FinanceError
from .ledger import booked_on_invoice


def prenotice_key(item_id: int) -> str:
    return f"finance.prenotice:{item_id}"


def batch_totals_refresh(batch: CollectionBatch) -> None:
    """Count and total of a draft batch after debits were added or taken out."""
    totals = batch.items.aggregate(total=Coalesce(Sum("amount"), ZERO))
    batch.total = totals["total"]
    batch.count = batch.items.count()
    batch.save(update_fields=["total", "count"])


# Prenotice letters -------------------------------------------------------------------------------


@dataclass(frozen=True)
class LateLetter:
    """A pre-notice letter that keeps a batch from being exported."""

    item_id: int
    invoice_number: str
    name: str
    address: str
    printed_on: dt.date | None  # None: not printed yet

    @property
    def unprinted(self) -> bool:
        return self.printed_on is None


def _prenotice_letters(batch: CollectionBatch):
    key = Concat(Value("finance.prenotice:"), Cast("pk", output_field=CharField()))
    letters = OutboxMessage.objects.filter(
        key=OuterRef("prenotice_key"), channel=OutboxMessage.Channel.LETTER
    )
    return (
        batch.items.annotate(prenotice_key=key)
        .annotate(
            letter_status=Subquery(letters.values("status")[:1]),
            letter_printed_at=Subquery(letters.values("sent_at")[:1]),
            letter_name=Subquery(letters.values("to_name")[:1]),
            letter_address=Subquery(letters.values("to_address")[:1]),
        )
        .filter(letter_status__isnull=False)
    )


def prenotice_letters_late(batch: CollectionBatch) -> list[LateLetter]:
    """The batch's pre-notice letters that are unprinted or were printed too late for its date."""
    latest = batch.collection_date - dt.timedelta(days=settings.SEPA_PRENOTIFICATION_DAYS)
    late = []
    rows = (
        _prenotice_letters(batch)
        .order_by("pk")
        .values_list(
            "pk",
            "invoice__number",
            "letter_status",
            "letter_printed_at",
            "letter_name",
            "letter_address",
        )
    )
    for pk, number, status, printed_at, name, address in rows:
        printed_on = timezone.localdate(printed_at) if printed_at else None
        if status == OutboxMessage.Status.PRINTED and printed_on and printed_on <= latest:
            continue
        late.append(
            LateLetter(
                item_id=pk,
                invoice_number=number,
                name=name,
                address=" ".join((address or "").split()),
                printed_on=printed_on if status == OutboxMessage.Status.PRINTED else None,
            )
        )
    return late


def prenotice_letters_error(batch: CollectionBatch, late: list[LateLetter]) -> FinanceError:
    unprinted = sum(1 for letter in late if letter.unprinted)
    return FinanceError(
        _(
            "%(count)s leden krijgen de vooraankondiging per brief, en %(unprinted)s van die "
            "brieven zijn nog niet geprint of te laat geprint (minder dan %(days)s dagen voor "
            "%(date)s). Print de brieven en kies een latere datum, of haal die huishoudens uit "
            "de batch. De batchpagina zegt welke het zijn."
        )
        % {
            "count": len(late),
            "unprinted": unprinted,
            "days": settings.SEPA_PRENOTIFICATION_DAYS,
            "date": batch.collection_date.strftime("%d-%m-%Y"),
        }
    )


@transaction.atomic
def batch_items_remove(*, batch: CollectionBatch, item_ids: Iterable[int], by: User | None) -> int:
    """Take debits out of a draft batch (their invoices stay open); drops their unprinted
    pre-notice letters. Returns how many were taken out."""
    batch = CollectionBatch.objects.select_for_update().get(pk=batch.pk)
    if batch.status != CollectionBatch.Status.DRAFT:
        raise FinanceError(
            _(
                "Deze batch is al geëxporteerd. Een incasso die al bij de bank ligt, trekt u "
                "bij de bank in; markeer hem daarna hier als ingetrokken."
            )
        )
    items = batch.items.filter(pk__in=list(item_ids))
    pks = list(items.values_list("pk", flat=True))
    if not pks:
        raise FinanceError(_("Kies de incasso's die uit de batch moeten."))
    OutboxMessage.objects.filter(
        key__in=[prenotice_key(pk) for pk in pks],
        channel=OutboxMessage.Channel.LETTER,
        status=OutboxMessage.Status.PENDING,
    ).delete()
    CollectionItem.objects.filter(pk__in=pks).delete()
    batch_totals_refresh(batch)
    return len(pks)


# Paid twice --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PaidTwice:
    """An invoice in a batch that was (or will be) paid another way too."""

    item: CollectionItem
    balance: Decimal  # what the invoice still asks (negative: paid too much)
    before_collection: bool  # the debit can still be withdrawn at the bank

    @property
    def invoice(self):
        return self.item.invoice

    @property
    def batch(self):
        return self.item.batch


def collections_paid_twice(
    *, batch: CollectionBatch | None = None, today: dt.date | None = None
) -> list[PaidTwice]:
    """Debits of exported batches whose invoice was paid another way as well: pending ones whose
    invoice no longer asks the whole debit, collected ones whose invoice is now paid too much."""
    today = today or timezone.localdate()
    booked = booked_on_invoice("invoice_id")
    other_payment = LedgerEntry.objects.filter(
        invoice=OuterRef("invoice_id"), kind=LedgerEntry.Kind.PAYMENT
    ).exclude(source=LedgerEntry.Source.SEPA, external_id=OuterRef("end_to_end_id"))
    items = CollectionItem.objects.filter(
        Q(status=CollectionItem.Status.PENDING, batch__status=CollectionBatch.Status.EXPORTED)
        | Q(status=CollectionItem.Status.COLLECTED)
    ).filter(Exists(other_payment))
    if batch is not None:
        items = items.filter(batch=batch)
    rows = (
        items.annotate(booked=booked)
        .select_related("invoice", "batch", "invoice__household")
        .order_by("batch__collection_date", "pk")
    )
    flagged = []
    for item in rows:
        balance = round_money(item.invoice.total - item.booked)
        if item.status == CollectionItem.Status.PENDING:
            if balance >= item.amount:
                continue
        elif balance >= 0:
            continue
        flagged.append(
            PaidTwice(
                item=item,
                balance=balance,
                before_collection=item.status == CollectionItem.Status.PENDING
                and today < item.batch.collection_date,
            )
        )
    return flagged


@transaction.atomic
def collection_item_withdraw(*, item: CollectionItem, by: User | None) -> CollectionItem:
    """The treasurer withdrew this debit at the bank before the collection date."""
    item = CollectionItem.objects.select_for_update().select_related("batch").get(pk=item.pk)
    if item.batch.status != CollectionBatch.Status.EXPORTED:
        raise FinanceError(
            _(
                "Alleen een incasso uit een geëxporteerde batch die nog loopt, kan ingetrokken worden."
            )
        )
    if item.status != CollectionItem.Status.PENDING:
        raise FinanceError(
            _("Deze incasso is al %(status)s.") % {"status": item.get_status_display().lower()}
        )
    item.status = CollectionItem.Status.WITHDRAWN
    item.save(update_fields=["status"])
    batches_close_when_done([item.batch_id])
    return item


def batches_close_when_done(batch_ids: Iterable[int]) -> int:
    """Exported batches without a pending debit left are collected. Returns how many changed."""
    pending = CollectionItem.objects.filter(
        batch=OuterRef("pk"), status=CollectionItem.Status.PENDING
    )
    return (
        CollectionBatch.objects.filter(
            pk__in=list(set(batch_ids)), status=CollectionBatch.Status.EXPORTED
        )
        .filter(~Exists(pending))
        .update(status=CollectionBatch.Status.COLLECTED)
    )
