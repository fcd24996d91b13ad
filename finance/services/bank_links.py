"""The unmatched queue: bank lines the import could not match, which the treasurer links by hand
(to an invoice, to a batch, or split over invoices) or handles without an invoice.

- To an invoice: the payment is booked with the line's key as external id (key~n when an
  earlier link was reversed, so the new link books anew).
- To a batch: money credited as one total for a direct debit batch (the bank left out the
  reference, or booked it on an unusual day). The line must be exactly what the batch still has
  pending; each of its debits is then booked as collected, as the statement import would.
- Split: one transfer that pays several invoices (a household paying for two years, a neighbour
  paying for two households). The parts must add up to the line's amount exactly; the page shows
  what is left to divide. A part may be more than its invoice asks: that invoice is then overpaid
  and settled on the overpaid page like any other.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from coop.accounts.models import User
from coop.lib.money import ZERO, format_money, round_money

from ..models import BankTransaction, CollectionBatch, Invoice, LedgerEntry
from . import FinanceError
from .batch_care import batches_close_when_done
from .collections import batch_pending_debits, debits_book_collected
from .ledger import ledger_book, transfer_external_id
from .receipts import receipt_queue

MAX_PARTS = 10


def _lock_unmatched(transaction: BankTransaction) -> BankTransaction:
    line = BankTransaction.objects.select_for_update().get(pk=transaction.pk)
    if line.status != BankTransaction.Status.UNMATCHED:
        raise FinanceError(_("Deze regel is al afgehandeld."))
    return line


@transaction.atomic
def transaction_resolve(
    *, transaction: BankTransaction, invoice: Invoice, by: User | None
) -> BankTransaction:
    """The treasurer links an unmatched money-in line to an invoice: the payment is booked."""
    line = _lock_unmatched(transaction)
    if line.amount <= 0:
        raise FinanceError(
            _(
                "Alleen geld dat binnenkwam kan aan een factuur gekoppeld worden. "
                "Een afschrijving kunt u negeren."
            )
        )
    if invoice.kind != Invoice.Kind.INVOICE or invoice.status == Invoice.Status.CREDITED:
        raise FinanceError(
            _("Factuur %(number)s kan geen betaling meer krijgen.") % {"number": invoice.number}
        )
    entry, created = ledger_book(
        invoice=invoice,
        kind=LedgerEntry.Kind.PAYMENT,
        source=LedgerEntry.Source.TRANSFER,
        # The entry key, or entry key~n when the line was linked before and that was reversed.
        external_id=transfer_external_id(line.entry_key),
        amount=line.amount,
        booked_on=line.booking_date,
        note=_("Overboeking %(name)s (met de hand gekoppeld)") % {"name": line.counterparty_name},
        by=by,
    )
    if created:
        receipt_queue(entry=entry)
    line.status = BankTransaction.Status.RESOLVED
    line.invoice = invoice
    line.note = _("Met de hand gekoppeld aan factuur %(number)s") % {"number": invoice.number}
    line.save(update_fields=["status", "invoice", "note"])
    return line


@transaction.atomic
def transaction_ignore(
    *, transaction: BankTransaction, by: User | None, note: str = ""
) -> BankTransaction:
    """The line needs no booking against an invoice (bank costs, a gift, a refund we made)."""
    line = _lock_unmatched(transaction)
    line.status = BankTransaction.Status.IGNORED
    line.note = (note or _("Genegeerd")).strip()[:300]
    line.save(update_fields=["status", "note"])
    return line


def _money_in(line: BankTransaction) -> None:
    if line.amount <= 0:
        raise FinanceError(
            _(
                "Alleen geld dat binnenkwam kan aan facturen of een batch gekoppeld worden. "
                "Een afschrijving kunt u afhandelen zonder factuur."
            )
        )


@transaction.atomic
def transaction_link_batch(
    *, transaction: BankTransaction, batch: CollectionBatch, by: User | None
) -> int:
    """The line is the total of `batch`: book every pending debit of it. Returns how many."""
    line = _lock_unmatched(transaction)
    _money_in(line)
    batch = CollectionBatch.objects.select_for_update().get(pk=batch.pk)
    if batch.status == CollectionBatch.Status.DRAFT:
        raise FinanceError(_("Deze batch is nog niet bij de bank ingeleverd."))
    pending = batch_pending_debits(batch, booked_on=line.booking_date)
    if not pending:
        raise FinanceError(
            _("In incassobatch %(batch)s staat niets meer open.") % {"batch": batch.message_id}
        )
    total = sum((debit.amount for debit in pending), ZERO)
    if total != line.amount:
        raise FinanceError(
            _(
                "Het bedrag (%(amount)s) is niet wat batch %(batch)s nog open heeft: %(total)s "
                "voor %(count)s incasso's (verschil %(difference)s). Lees eerst het afschrift "
                "met de storneringen in, of koppel de regel aan facturen."
            )
            % {
                "amount": format_money(line.amount),
                "batch": batch.message_id,
                "total": format_money(total),
                "count": len(pending),
                "difference": format_money(line.amount - total),
            }
        )
    debits_book_collected(debits=pending, by=by)
    batches_close_when_done([batch.pk])
    line.status = BankTransaction.Status.RESOLVED
    line.note = _("Met de hand gekoppeld aan incassobatch %(batch)s (%(count)s incasso's)") % {
        "batch": batch.message_id,
        "count": len(pending),
    }
    line.save(update_fields=["status", "note"])
    return len(pending)


def split_remainder(line: BankTransaction, amounts: list[Decimal]) -> Decimal:
    """What is left to divide of the line's amount (negative: divided too much)."""
    return round_money(line.amount - sum(amounts, ZERO))


def _part_id(entry_key: str, index: int) -> str:
    value = f"{entry_key}/{index}"
    return value if len(value) <= 200 else "h:" + hashlib.sha256(value.encode()).hexdigest()


@transaction.atomic
def transaction_split(
    *, transaction: BankTransaction, parts: list[tuple[Invoice, Decimal]], by: User | None
) -> list[LedgerEntry]:
    """Book one money-in line as payments on several invoices; the parts add up to the line."""
    line = _lock_unmatched(transaction)
    _money_in(line)
    if not parts:
        raise FinanceError(_("Vul minstens één factuur met een bedrag in."))
    if len(parts) > MAX_PARTS:
        raise FinanceError(_("Verdeel over hoogstens %(max)s facturen.") % {"max": MAX_PARTS})
    numbers = [invoice.number for invoice, _amount in parts]
    if len(set(numbers)) != len(numbers):
        raise FinanceError(_("Elke factuur mag maar één keer in de verdeling staan."))
    for invoice, amount in parts:
        if isinstance(amount, float) or amount is None or amount <= 0:
            raise FinanceError(
                _("Het bedrag voor factuur %(number)s moet meer dan € 0,00 zijn.")
                % {"number": invoice.number}
            )
        if invoice.kind != Invoice.Kind.INVOICE or invoice.status == Invoice.Status.CREDITED:
            raise FinanceError(
                _("Factuur %(number)s kan geen betaling meer krijgen.") % {"number": invoice.number}
            )
    remainder = split_remainder(line, [amount for _invoice, amount in parts])
    if remainder:
        raise FinanceError(
            _("De bedragen tellen niet op tot %(amount)s: nog te verdelen %(rest)s.")
            % {"amount": format_money(line.amount), "rest": format_money(remainder)}
            if remainder > 0
            else _("De bedragen tellen op tot meer dan %(amount)s: %(rest)s te veel verdeeld.")
            % {"amount": format_money(line.amount), "rest": format_money(-remainder)}
        )
    entries = []
    for index, (invoice, amount) in enumerate(parts, 1):
        entry, created = ledger_book(
            invoice=invoice,
            kind=LedgerEntry.Kind.PAYMENT,
            source=LedgerEntry.Source.TRANSFER,
            external_id=_part_id(line.entry_key, index),
            amount=amount,
            booked_on=line.booking_date,
            note=_("Overboeking %(name)s, verdeeld (deel %(part)s van %(parts)s)")
            % {"name": line.counterparty_name, "part": index, "parts": len(parts)},
            by=by,
        )
        if created:
            receipt_queue(entry=entry)
        entries.append(entry)
    line.status = BankTransaction.Status.RESOLVED
    line.invoice = parts[0][0]
    line.note = (
        _("Met de hand verdeeld over %(parts)s")
        % {
            "parts": ", ".join(
                f"{invoice.number} ({format_money(amount)})" for invoice, amount in parts
            )
        }
    )[:300]
    line.save(update_fields=["status", "invoice", "note"])
    return entries
