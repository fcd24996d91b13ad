"""Invoices paid too much, and the two ways out a treasurer has.

An invoice is overpaid when more was booked on it than it asked, however that happened: paid
twice online, a €20.00 transfer for €17.50 (matched from a statement or linked by hand), a
transfer and a direct debit for the same invoice. Every such invoice shows in the treasurer's
"needs attention" list until it is settled, one of two ways:

- Refund: a refund entry is booked now (the invoice is back at zero) and a `Refund` row records
  to whom, to which IBAN; a payout batch pays it later.
- Keep as credit: the surplus moves out of the invoice into the household's credit (a
  settlement entry). It goes at once onto the household's oldest open invoice if there is one,
  else onto the next invoice the household gets (the dues run applies it).

The household's credit is not a stored number: it is minus the sum of the settlement entries on
its invoices, so it cannot drift from the ledger. Every change locks the invoice (and the
household, for its credit), so a double submit or two treasurers at once settle a surplus once.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils.translation import gettext as _

from coop.accounts.models import User
from coop.lib.money import ZERO, format_money, round_money
from members.models import Household

from ..models import BankTransaction, Invoice, LedgerEntry, Mandate, Refund
from . import FinanceError
from .identifiers import iban_validate
from .ledger import invoice_balance, invoice_lock, ledger_book

OPEN = (Invoice.Status.OPEN, Invoice.Status.PARTLY_PAID)


def overpaid_surplus(invoice: Invoice) -> Decimal:
    """What was paid above the invoice's total (zero when it is not overpaid)."""
    return max(-invoice_balance(invoice), ZERO)


def refund_account_suggested(invoice: Invoice) -> tuple[str, str]:
    """(IBAN, name) to pay a refund to: the account the last transfer came from, else the
    household's mandate. Blank when neither is known; the treasurer fills it in."""
    transfer = (
        BankTransaction.objects.filter(invoice=invoice, amount__gt=0)
        .exclude(counterparty_iban="")
        .order_by("-booking_date", "-pk")
        .first()
    )
    if transfer is not None:
        return transfer.counterparty_iban, transfer.counterparty_name
    mandate = (
        Mandate.objects.filter(household_id=invoice.household_id).order_by("-signed_on").first()
    )
    if mandate is not None:
        return mandate.iban, mandate.account_holder
    return "", invoice.recipient_name


def _surplus_locked(invoice: Invoice) -> tuple[Invoice, Decimal]:
    locked = invoice_lock(invoice.pk)
    surplus = overpaid_surplus(locked)
    if locked.kind != Invoice.Kind.INVOICE or surplus <= ZERO:
        raise FinanceError(
            _("Factuur %(number)s is niet (meer) te veel betaald.") % {"number": locked.number}
        )
    return locked, surplus


@transaction.atomic
def overpayment_refund(
    *, invoice: Invoice, iban: str, account_holder: str, by: User | None
) -> Refund:
    """Record that the surplus will be paid back to `iban`; the invoice is settled at once."""
    checked = iban_validate(iban)
    holder = " ".join((account_holder or "").split())[:70]
    if not holder:
        raise FinanceError(_("Vul de naam van de rekeninghouder in."))
    locked, surplus = _surplus_locked(invoice)
    refund = Refund.objects.create(
        invoice=locked,
        amount=surplus,
        iban=checked.compact,
        account_holder=holder,
        created_by=by,
    )
    ledger_book(
        invoice=locked,
        kind=LedgerEntry.Kind.REFUND,
        source=LedgerEntry.Source.MANUAL,
        external_id=f"refund:{refund.pk}",
        amount=-surplus,
        note=_("Te veel betaald: %(amount)s terug te betalen aan %(name)s")
        % {"amount": format_money(surplus), "name": holder},
        by=by,
    )
    return refund


def household_credit(household: Household) -> Decimal:
    """What the household has in credit: surpluses kept and not yet used by an invoice."""
    moved = LedgerEntry.objects.filter(
        invoice__household=household, kind=LedgerEntry.Kind.SETTLEMENT
    ).aggregate(s=Sum("amount"))["s"]
    return round_money(-(moved or ZERO))


@transaction.atomic
def overpayment_keep_as_credit(*, invoice: Invoice, by: User | None) -> Decimal:
    """Move the surplus into the household's credit and use it on an open invoice if there is one.

    Returns the surplus kept.
    """
    household = Household.objects.select_for_update().get(pk=invoice.household_id)
    locked, surplus = _surplus_locked(invoice)
    count = locked.entries.filter(kind=LedgerEntry.Kind.SETTLEMENT).count()
    ledger_book(
        invoice=locked,
        kind=LedgerEntry.Kind.SETTLEMENT,
        source=LedgerEntry.Source.BALANCE,
        external_id=f"to-credit:{locked.pk}:{count + 1}",
        amount=-surplus,
        note=_("Te veel betaald: %(amount)s als tegoed voor de volgende factuur")
        % {"amount": format_money(surplus)},
        by=by,
    )
    _credit_apply(household, by=by)
    return surplus


def _credit_apply(household: Household, *, by: User | None) -> Decimal:
    """Use the household's credit on its open invoices, oldest first. Call with it locked."""
    credit = household_credit(household)
    used = ZERO
    for invoice in (
        Invoice.objects.filter(household=household, kind=Invoice.Kind.INVOICE, status__in=OPEN)
        .select_for_update()
        .order_by("issued_on", "pk")
    ):
        if credit <= ZERO:
            break
        amount = min(credit, invoice_balance(invoice))
        if amount <= ZERO:
            continue
        count = invoice.entries.filter(kind=LedgerEntry.Kind.SETTLEMENT).count()
        ledger_book(
            invoice=invoice,
            kind=LedgerEntry.Kind.SETTLEMENT,
            source=LedgerEntry.Source.BALANCE,
            external_id=f"from-credit:{invoice.pk}:{count + 1}",
            amount=amount,
            note=_("Betaald uit tegoed (eerder te veel betaald)"),
            by=by,
        )
        credit -= amount
        used += amount
    return used


@transaction.atomic
def household_credits_apply(*, household_ids: Iterable[int], by: User | None = None) -> int:
    """After new invoices were made (a dues run): use what these households have in credit.

    One query finds the few households with credit; only those are locked and booked.
    Returns how many households used credit.
    """
    wanted = set(household_ids)
    with_credit = [
        household_id
        for household_id, moved in LedgerEntry.objects.filter(kind=LedgerEntry.Kind.SETTLEMENT)
        .order_by()
        .values("invoice__household_id")
        .annotate(s=Sum("amount"))
        .values_list("invoice__household_id", "s")
        if moved < 0 and household_id in wanted
    ]
    applied = 0
    for household in (
        Household.objects.filter(pk__in=with_credit).select_for_update().order_by("pk")
    ):
        if _credit_apply(household, by=by) > ZERO:
            applied += 1
    return applied
