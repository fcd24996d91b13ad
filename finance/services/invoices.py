"""Correcting invoices: credit notes, write-offs and payments the treasurer books by hand.

Nothing is deleted or edited: a credit note is a new document with its own number, and every
change to what is owed is a ledger entry.

- A credit note cancels an invoice on which nothing has been paid (status open). When money was
  paid, the treasurer first books the refund (or writes off the rest) instead.
- A write-off books the open balance of an open or partly paid invoice as lost.
- A manual payment may be more than the balance: the money did arrive, and the page shows the
  surplus so the treasurer can refund it. The treasurer's form first asks to confirm such an
  amount (a typing error, or a payment booked twice). Zero and negative amounts are refused.
- Neither credit nor write-off is possible while the invoice waits in a direct-debit batch.
- A wrong booking by hand is reversed, never removed: `ledger_entry_reverse` books the opposite
  amount for a payment booked by hand, a transfer (linked by hand or matched from a statement;
  its bank line goes back to the unmatched queue) or a write-off. iDEAL is refunded at the
  provider and a direct debit is reversed by the bank's return, so those are refused here.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from coop.accounts.models import User
from coop.lib.money import ZERO, format_money, round_money

from ..models import BankTransaction, CollectionItem, Invoice, InvoiceLine, LedgerEntry
from . import FinanceError
from .ledger import (
    invoice_balance,
    invoice_lock,
    invoice_number_next,
    ledger_book,
)
from .receipts import receipt_queue

MAX_PAYMENT = Decimal("99999.99")


class OverpaymentNotConfirmed(FinanceError):
    """The amount is more than is still open, and the treasurer has not confirmed it yet."""

    def __init__(self, *, open_balance: Decimal, surplus: Decimal):
        self.open_balance = open_balance
        self.surplus = surplus
        super().__init__(
            _(
                "Dit bedrag is meer dan er nog openstaat (%(open)s): er zou %(surplus)s te veel "
                "betaald zijn. Klopt het bedrag? Vink dan hieronder aan dat u het toch wilt boeken."
            )
            % {"open": format_money(open_balance), "surplus": format_money(surplus)}
        )


def _check_not_in_collection(invoice: Invoice) -> None:
    if CollectionItem.objects.filter(
        invoice=invoice, status=CollectionItem.Status.PENDING
    ).exists():
        raise FinanceError(
            _(
                "Factuur %(number)s zit in een incassobatch die nog loopt. "
                "Wacht tot de incasso klaar is."
            )
            % {"number": invoice.number}
        )


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise FinanceError(_("Geef een reden op."))
    return reason[:300]


@transaction.atomic
def invoice_credit(*, invoice: Invoice, reason: str, by: User | None = None) -> Invoice:
    """Cancel an unpaid invoice with a credit note. Returns the credit note."""
    reason = _reason(reason)
    locked = invoice_lock(invoice.pk)
    if locked.kind != Invoice.Kind.INVOICE:
        raise FinanceError(_("Een creditnota kan niet zelf gecrediteerd worden."))
    if locked.status == Invoice.Status.CREDITED:
        raise FinanceError(_("Factuur %(number)s is al gecrediteerd.") % {"number": locked.number})
    if locked.status != Invoice.Status.OPEN:
        raise FinanceError(
            _(
                "Factuur %(number)s is (deels) betaald of afgeboekt. Crediteren kan alleen bij een "
                "open factuur; boek eerst de terugbetaling of boek het restant af."
            )
            % {"number": locked.number}
        )
    _check_not_in_collection(locked)
    balance = invoice_balance(locked)
    today = timezone.localdate()
    sequence, number = invoice_number_next(year=today.year)
    credit_note = Invoice.objects.create(
        kind=Invoice.Kind.CREDIT_NOTE,
        year=today.year,
        sequence=sequence,
        number=number,
        household_id=locked.household_id,
        scheme_id=locked.scheme_id,
        dues_year=None,
        credited_invoice=locked,
        recipient_name=locked.recipient_name,
        recipient_email=locked.recipient_email,
        street=locked.street,
        house_number=locked.house_number,
        postcode=locked.postcode,
        town=locked.town,
        country=locked.country,
        language=locked.language,
        issued_on=today,
        due_on=today,
        total=-locked.total,
        status=Invoice.Status.CREDITED,
        created_by=by,
    )
    InvoiceLine.objects.bulk_create(
        [
            InvoiceLine(
                invoice=credit_note,
                member_id=line.member_id,
                description=line.description,
                amount=-line.amount,
                position=line.position,
            )
            for line in locked.lines.all()
        ]
    )
    if balance > 0:
        ledger_book(
            invoice=locked,
            kind=LedgerEntry.Kind.CREDIT,
            source=LedgerEntry.Source.CREDIT_NOTE,
            external_id=credit_note.number,
            amount=balance,
            booked_on=today,
            note=reason,
            by=by,
        )
    locked.status = Invoice.Status.CREDITED
    locked.save(update_fields=["status"])
    invoice.status = locked.status
    return credit_note


@transaction.atomic
def invoice_write_off(*, invoice: Invoice, reason: str, by: User | None = None) -> LedgerEntry:
    """Book what is still owed as lost (oninbaar)."""
    reason = _reason(reason)
    locked = invoice_lock(invoice.pk)
    if locked.kind != Invoice.Kind.INVOICE or locked.status not in (
        Invoice.Status.OPEN,
        Invoice.Status.PARTLY_PAID,
    ):
        raise FinanceError(_("Alleen een open of deels betaalde factuur kan worden afgeboekt."))
    _check_not_in_collection(locked)
    balance = invoice_balance(locked)
    if balance <= 0:
        raise FinanceError(_("Op deze factuur staat niets meer open."))
    entry, _created = ledger_book(
        invoice=locked,
        kind=LedgerEntry.Kind.WRITE_OFF,
        source=LedgerEntry.Source.MANUAL,
        external_id=f"write-off:{uuid.uuid4()}",
        amount=balance,
        note=reason,
        by=by,
    )
    invoice.status = locked.status
    return entry


@transaction.atomic
def payment_record_manual(
    *,
    invoice: Invoice,
    amount: Decimal,
    booked_on: dt.date,
    note: str = "",
    by: User | None = None,
    allow_overpayment: bool = True,
) -> LedgerEntry:
    """Book money that came in outside the portal and the bank import (cash, a late transfer).

    With `allow_overpayment=False` an amount above the open balance raises
    OverpaymentNotConfirmed; the balance is read under the invoice's lock."""
    if isinstance(amount, float):
        raise TypeError("amount must be Decimal")
    if amount is None:
        raise FinanceError(_("Vul een bedrag in euro's in, bijvoorbeeld 25,00."))
    amount = round_money(Decimal(amount))
    if amount <= ZERO:
        raise FinanceError(_("Het bedrag moet meer dan € 0,00 zijn."))
    if amount > MAX_PAYMENT:
        raise FinanceError(_("Dat bedrag is te hoog."))
    today = timezone.localdate()
    if booked_on > today:
        raise FinanceError(_("De datum ligt in de toekomst."))
    if booked_on.year < 2000:
        raise FinanceError(_("Kies een datum na 2000."))
    locked = invoice_lock(invoice.pk)
    if locked.kind != Invoice.Kind.INVOICE:
        raise FinanceError(_("Op een creditnota kan geen betaling worden geboekt."))
    if locked.status == Invoice.Status.CREDITED:
        raise FinanceError(
            _("Factuur %(number)s is gecrediteerd; er hoeft niets betaald te worden.")
            % {"number": locked.number}
        )
    if not allow_overpayment:
        open_balance = max(invoice_balance(locked), ZERO)
        if amount > open_balance:
            raise OverpaymentNotConfirmed(open_balance=open_balance, surplus=amount - open_balance)
    entry, _created = ledger_book(
        invoice=locked,
        kind=LedgerEntry.Kind.PAYMENT,
        source=LedgerEntry.Source.MANUAL,
        external_id=f"manual:{uuid.uuid4()}",
        amount=amount,
        booked_on=booked_on,
        note=(note or "").strip(),
        by=by,
    )
    invoice.status = locked.status
    receipt_queue(entry=entry)
    return entry


# Reversing a wrong booking -------------------------------------------------------------------------

_RELINKED = re.compile(r"~[0-9]+$")  # transfer_external_id's suffix for a line linked again


def _reversed_amount(entry: LedgerEntry) -> Decimal:
    """What is reversed of the entry already (a positive amount)."""
    return -sum((r.amount for r in entry.reversals.all()), ZERO)


def ledger_entry_refusal(entry: LedgerEntry) -> str | None:
    """Why this entry cannot be reversed here, in plain Dutch; None when it can. (Whether the
    invoice waits in a direct-debit batch is checked apart, see `ledger_entry_reverse`.)"""
    kind, source = entry.kind, entry.source
    if kind == LedgerEntry.Kind.REVERSAL:
        return _("Een terugboeking kan zelf niet worden teruggedraaid.")
    if kind == LedgerEntry.Kind.REFUND:
        return _("Een terugbetaling kan niet worden teruggedraaid.")
    if kind == LedgerEntry.Kind.CREDIT or source == LedgerEntry.Source.CREDIT_NOTE:
        return _("Een creditnota kan niet worden teruggedraaid.")
    if kind == LedgerEntry.Kind.SETTLEMENT or source == LedgerEntry.Source.BALANCE:
        return _("Een verrekening met tegoed kan hier niet worden teruggedraaid.")
    if source == LedgerEntry.Source.IDEAL:
        return _(
            "Een iDEAL-betaling draait u terug met een terugbetaling bij de betaalprovider, "
            "niet hier."
        )
    if source == LedgerEntry.Source.SEPA:
        return _(
            "Een incasso wordt teruggedraaid door de storno van de bank; die komt binnen met het "
            "bankafschrift."
        )
    if kind == LedgerEntry.Kind.WRITE_OFF:
        if _reversed_amount(entry) >= entry.amount:
            return _("Deze boeking is al teruggedraaid.")
        return None
    if kind == LedgerEntry.Kind.PAYMENT and source in (
        LedgerEntry.Source.MANUAL,
        LedgerEntry.Source.TRANSFER,
    ):
        if entry.amount <= 0:
            return _("Deze boeking kan niet worden teruggedraaid.")
        if _reversed_amount(entry) != ZERO:
            return _("Deze boeking is al teruggedraaid.")
        return None
    return _("Deze boeking kan niet worden teruggedraaid.")


def reversible_entry_ids(invoice: Invoice, entries: list[LedgerEntry]) -> set[int]:
    """The entries of an invoice the treasurer may reverse now (entries with their reversals
    prefetched). None while the invoice waits in a direct-debit batch."""
    if CollectionItem.objects.filter(
        invoice=invoice, status=CollectionItem.Status.PENDING
    ).exists():
        return set()
    return {entry.pk for entry in entries if ledger_entry_refusal(entry) is None}


def reverse_external_id(entry: LedgerEntry) -> str:
    return f"reverse:{entry.pk}"


def _bank_line_back(*, entry: LedgerEntry, invoice: Invoice, reason: str) -> None:
    """The bank line the reversed transfer came from goes back to the unmatched queue."""
    entry_key = _RELINKED.sub("", entry.external_id)
    line = (
        BankTransaction.objects.select_for_update()
        .filter(invoice=invoice, entry_key=entry_key)
        .exclude(status=BankTransaction.Status.UNMATCHED)
        .first()
    )
    if line is None:
        return
    line.status = BankTransaction.Status.UNMATCHED
    line.invoice = None
    line.note = (
        _("Boeking op factuur %(number)s teruggedraaid: %(reason)s")
        % {"number": invoice.number, "reason": reason}
    )[:300]
    line.save(update_fields=["status", "invoice", "note"])


def _write_offs_restore(*, payment: LedgerEntry, invoice: Invoice, by: User | None) -> None:
    """A reversed payment that had reversed a write-off (it came after the write-off) makes the
    invoice written off again for that amount, as it was before the payment."""
    undone = LedgerEntry.objects.filter(
        invoice=invoice,
        kind=LedgerEntry.Kind.REVERSAL,
        reverses__kind=LedgerEntry.Kind.WRITE_OFF,
        external_id__startswith=f"write-off-reversed:{payment.pk}:",
    )
    for reversal in undone:
        ledger_book(
            invoice=invoice,
            kind=LedgerEntry.Kind.WRITE_OFF,
            source=LedgerEntry.Source.MANUAL,
            external_id=f"write-off-restored:{reversal.pk}",
            amount=-reversal.amount,
            booked_on=timezone.localdate(),
            note=_("Weer afgeboekt: de betaling die de afboeking terugdraaide is teruggedraaid."),
            by=by,
        )


@transaction.atomic
def ledger_entry_reverse(*, entry: LedgerEntry, reason: str, by: User | None = None) -> LedgerEntry:
    """Reverse a wrong booking: a payment booked by hand, a transfer or a write-off. Books once
    a reversal of the opposite amount (for a write-off: what is not reversed of it yet) and
    refreshes the invoice's status. Returns the reversal."""
    reason = _reason(reason)
    locked = invoice_lock(entry.invoice_id)
    entry = LedgerEntry.objects.prefetch_related("reversals").get(pk=entry.pk)
    refusal = ledger_entry_refusal(entry)
    if refusal is not None:
        raise FinanceError(refusal)
    if LedgerEntry.objects.filter(
        source=LedgerEntry.Source.MANUAL, external_id=reverse_external_id(entry)
    ).exists():
        raise FinanceError(_("Deze boeking is al teruggedraaid."))
    _check_not_in_collection(locked)
    # A write-off a late payment partly reversed already: the rest of it.
    amount = -(entry.amount - _reversed_amount(entry))
    reversal, created = ledger_book(
        invoice=locked,
        kind=LedgerEntry.Kind.REVERSAL,
        source=LedgerEntry.Source.MANUAL,
        external_id=reverse_external_id(entry),
        amount=amount,
        note=_("Teruggedraaid: %(reason)s") % {"reason": reason},
        reverses=entry,
        by=by,
    )
    if not created:
        raise FinanceError(_("Deze boeking is al teruggedraaid."))
    if entry.kind == LedgerEntry.Kind.PAYMENT:
        _write_offs_restore(payment=entry, invoice=locked, by=by)
        if entry.source == LedgerEntry.Source.TRANSFER:
            _bank_line_back(entry=entry, invoice=locked, reason=reason)
    return reversal
