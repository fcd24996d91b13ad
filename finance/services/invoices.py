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
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from coop.accounts.models import User
from coop.lib.money import ZERO, format_money, round_money

from ..models import CollectionItem, Invoice, InvoiceLine, LedgerEntry
from . import FinanceError
from .ledger import invoice_balance, invoice_lock, invoice_number_next, ledger_book
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
