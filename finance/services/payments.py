"""Paying an invoice online: iDEAL through Mollie, or the demo provider offline.

Rules, in one place:

- Start: only an open or partly paid invoice of the member's own household (or of a household
  they moved out of), not while a direct debit for it is running (the message names the date the
  bank collects it once the batch went to the bank); the amount is the balance at that moment. The invoice is locked, so two
  tabs cannot start two payments at once: when a payment of the invoice is still open at the
  provider (same amount, not expired) the member is sent back to that one; when it is pending (the
  bank is busy), to the page that says so.
- Trust: a webhook only says "look again at payment X". We fetch X from the provider and apply
  what it says with `payment_apply`, the one place that changes a payment. The return page, the
  demo checkout and a new start for the same invoice use it too.
- Once: applying locks the invoice, then the payment. The payment is booked as a ledger entry
  with external id "<provider>:<id>", unique in the database, so duplicate and concurrent calls book
  it once. A status never goes backwards: a paid payment stays paid when a late "open" arrives;
  failed, canceled and expired are final unless the provider later says paid (money did arrive).
- Refunds and chargebacks: the provider reports cumulative amounts (amountRefunded,
  amountChargedBack). What is more than we booked is booked as a negative entry (refund, reversal)
  with the cumulative amount in its external id, so the invoice reopens by exactly that much.
- Paid twice (two tabs, or the bank transfer came in meanwhile): the second payment is booked
  anyway, because the money did arrive, and flagged (`needs_attention`) for the treasurer. Right
  after the booking is committed, the surplus is refunded through the provider automatically and
  booked as a refund; if that fails the flag says so and the treasurer refunds from the payments
  page. The flag stays until the treasurer marks it handled.
- Receipts: every payment booked queues one receipt (see receipts.py).
- Unknown ids are logged and ignored (answering 200, so Mollie stops retrying); nothing is booked.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from coop.accounts.models import User
from coop.lib.money import ZERO, format_money, round_money
from coop.lib.tasks import task_enqueue
from coop.lib.urls import absolute_url, is_local_url, site_url

from ..models import CollectionBatch, CollectionItem, Invoice, LedgerEntry, Payment
from ..providers import PaymentProvider, ProviderError, ProviderPayment, provider_get
from ..providers import base as remote_status
from ..selectors import invoices_for_user
from . import FinanceError
from .ledger import invoice_balance, invoice_lock, ledger_book
from .receipts import receipt_queue, receipts_queue

__all__ = [
    "PaymentChange",
    "demo_checkout_complete",
    "payment_apply",
    "payment_attention_resolve",
    "payment_blocked_by_debit",
    "payment_list",
    "payment_refresh",
    "payment_refund_surplus",
    "payment_refund_surplus_automatically",
    "payment_start",
    "payment_webhook_received",
    "payments_needing_attention",
    "receipt_queue",
    "receipts_queue",
]

logger = logging.getLogger(__name__)

PAYABLE = (Invoice.Status.OPEN, Invoice.Status.PARTLY_PAID)
WAITING = (Payment.Status.OPEN, Payment.Status.PENDING)
FINAL = (Payment.Status.FAILED, Payment.Status.CANCELED, Payment.Status.EXPIRED)
_STAGE: dict[str, int] = {Payment.Status.OPEN: 0, Payment.Status.PENDING: 1}
# A checkout link that is about to expire is not worth sending the member back to.
_REUSE_MARGIN = dt.timedelta(minutes=2)
_UNSEEN_REUSE_WINDOW = dt.timedelta(minutes=10)
_ATTENTION_SEP = " · "


def _our_status(status: str) -> str:
    if status == remote_status.AUTHORIZED:
        return Payment.Status.PENDING
    if status in Payment.Status.values:
        return status
    return Payment.Status.PENDING


def _next_status(old: str, new: str) -> str:
    """Statuses only move forward; "paid" wins from anything, and nothing leaves "paid"."""
    if old == Payment.Status.PAID or new == old:
        return old
    if new == Payment.Status.PAID:
        return new
    if old in FINAL:
        return old
    if new in FINAL or _STAGE.get(new, 0) > _STAGE.get(old, 0):
        return new
    return old


def _external_id(payment: Payment) -> str:
    return f"{payment.provider}:{payment.provider_id}"


def _attention(payment: Payment, text: str) -> None:
    notes = [n for n in payment.needs_attention.split(_ATTENTION_SEP) if n]
    if text not in notes:
        notes.append(text)
    joined = _ATTENTION_SEP.join(notes)
    payment.needs_attention = joined if len(joined) <= 200 else joined[:199] + "…"


def _money(amount: Decimal) -> str:
    return format_money(amount)


# Starting a payment -------------------------------------------------------------------------------


def payment_blocked_by_debit(invoice: Invoice) -> str:
    """Why the member cannot pay `invoice` online because a direct debit collects it, or "".

    A debit in a batch sent to the bank (exported) names the date; one in a batch still being
    prepared says "soon". Paying as well would collect the amount twice.
    """
    pending = list(
        CollectionItem.objects.filter(invoice=invoice, status=CollectionItem.Status.PENDING)
        .order_by("batch__collection_date")
        .values_list("batch__status", "batch__collection_date")
    )
    exported = [day for status, day in pending if status == CollectionBatch.Status.EXPORTED]
    if exported:
        return _(
            "Het bedrag van factuur %(number)s wordt op %(date)s automatisch van uw rekening "
            "afgeschreven (incasso). U hoeft nu niets te doen."
        ) % {"number": invoice.number, "date": date_format(min(exported), "j F Y")}
    if pending:
        return _(
            "Het bedrag van factuur %(number)s wordt binnenkort automatisch van uw rekening "
            "afgeschreven (incasso). U hoeft nu niets te doen."
        ) % {"number": invoice.number}
    return ""


def _check_payable(invoice: Invoice) -> None:
    if invoice.kind != Invoice.Kind.INVOICE or invoice.status not in PAYABLE:
        raise FinanceError(
            _("Factuur %(number)s hoeft niet (meer) betaald te worden.")
            % {"number": invoice.number}
        )
    blocked = payment_blocked_by_debit(invoice)
    if blocked:
        raise FinanceError(blocked)


def _reusable(payment: Payment, remote: ProviderPayment, balance: Decimal) -> bool:
    if payment.status == Payment.Status.PENDING:
        return True
    if payment.status != Payment.Status.OPEN or not remote.checkout_url:
        return False
    if payment.amount != balance:
        return False
    return remote.expires_at is None or remote.expires_at > timezone.now() + _REUSE_MARGIN


def payment_return_path(payment: Payment) -> str:
    return reverse("finance:payment_return", args=[payment.invoice_id]) + f"?betaling={payment.pk}"


def _webhook_url() -> str:
    """Mollie refuses a webhook it cannot reach; on a local install the return page asks instead."""
    if is_local_url(site_url()):
        return ""
    return absolute_url("finance:payment_webhook")


def payment_start(*, invoice: Invoice, by: User, base_url: str | None = None) -> Payment:
    """Start paying what is still open on an invoice, or pick up the payment already under way.

    `base_url` is the site the member uses (scheme and host), for the way back from the checkout.
    Returns the payment; send the member to its `checkout_url`, or to the return page when it
    has none (the bank is processing it, or it turned out paid already).
    """
    # The own household's invoices, and those of a household the member moved out of.
    if not invoices_for_user(by).filter(pk=invoice.pk).exists():
        raise FinanceError(_("U kunt alleen facturen van uw eigen huishouden betalen."))
    _check_payable(invoice)
    try:
        provider = provider_get()
    except ProviderError as exc:
        logger.error("Online payments are not available: %s", exc)
        raise FinanceError(
            _(
                "Online betalen is op dit moment niet mogelijk. "
                "Maak het bedrag over, of probeer het later."
            )
        ) from None
    # What became of earlier attempts is applied and committed first, so a payment that turns
    # out paid stays booked even when this start then stops.
    remotes: dict[int, ProviderPayment] = {}
    earlier = Payment.objects.filter(
        invoice_id=invoice.pk, status__in=WAITING, provider=provider.name
    ).exclude(provider_id="")
    for payment in earlier:
        try:
            remotes[payment.pk] = provider.get_payment(payment.provider_id)
        except ProviderError as exc:
            logger.warning("Could not look up payment %s: %s", payment.provider_id, exc)
            continue
        change = payment_apply(payment=payment, remote=remotes[payment.pk])
        if change.payment.status == Payment.Status.PAID:
            invoice.refresh_from_db(fields=["status"])
            if invoice.status not in PAYABLE:
                return change.payment  # paid already: the return page says so
    return _payment_create(
        invoice=invoice, provider=provider, remotes=remotes, by=by, base_url=base_url
    )


@transaction.atomic
def _payment_create(
    *,
    invoice: Invoice,
    provider: PaymentProvider,
    remotes: dict[int, ProviderPayment],
    by: User,
    base_url: str | None,
) -> Payment:
    locked = invoice_lock(invoice.pk)
    _check_payable(locked)
    balance = invoice_balance(locked)
    if balance <= ZERO:
        raise FinanceError(
            _("Op factuur %(number)s staat niets meer open.") % {"number": locked.number}
        )
    waiting = locked.payments.filter(status__in=WAITING, provider=provider.name).exclude(
        provider_id=""
    )
    for earlier in waiting.order_by("-created_at", "-pk"):
        remote = remotes.get(earlier.pk)
        if remote is not None:
            if _reusable(earlier, remote, balance):
                return earlier
        elif earlier.created_at > timezone.now() - _UNSEEN_REUSE_WINDOW and _reusable(
            earlier,
            ProviderPayment(
                id=earlier.provider_id,
                status=earlier.status,
                checkout_url=earlier.checkout_url,
                amount=earlier.amount,
            ),
            balance,
        ):
            # Started by another tab a moment ago (after we looked), or the provider did not
            # answer just now: still fresh, so the member goes there.
            return earlier
    payment = Payment.objects.create(
        invoice=locked, provider=provider.name, amount=balance, created_by=by
    )
    base = (base_url or site_url()).rstrip("/")
    year = locked.dues_year or locked.year
    try:
        remote = provider.create_payment(
            amount=balance,
            description=f"Contributie {year} {locked.number}",
            redirect_url=base + payment_return_path(payment),
            webhook_url=_webhook_url(),
            metadata={
                "invoice_id": locked.pk,
                "invoice_number": locked.number,
                "payment_id": payment.pk,
            },
        )
    except ProviderError as exc:
        logger.error("Creating a payment for invoice %s failed: %s", locked.number, exc)
        raise FinanceError(
            _(
                "Het lukte niet om de betaling te starten. "
                "Probeer het over een paar minuten opnieuw."
            )
        ) from None
    if remote.amount != balance:
        raise FinanceError(_("Het lukte niet om de betaling te starten."))
    payment.provider_id = remote.id
    payment.checkout_url = remote.checkout_url
    payment.status = _next_status(payment.status, _our_status(remote.status))
    payment.save(update_fields=["provider_id", "checkout_url", "status", "updated_at"])
    return payment


# Applying what the provider says ------------------------------------------------------------------


@dataclass
class PaymentChange:
    payment: Payment
    booked: LedgerEntry | None = None
    reversals: list[LedgerEntry] = field(default_factory=list)
    surplus: Decimal = ZERO


def _book_reversed(
    *,
    invoice: Invoice,
    payment: Payment,
    paid_entry: LedgerEntry,
    kind: str,
    label: str,
    reported: Decimal,
    note: str,
) -> LedgerEntry | None:
    prefix = f"{_external_id(payment)}:{label}:"
    booked = -sum(
        (
            e.amount
            for e in LedgerEntry.objects.filter(
                source=LedgerEntry.Source.IDEAL, external_id__startswith=prefix
            )
        ),
        ZERO,
    )
    if reported > booked:
        entry, created = ledger_book(
            invoice=invoice,
            kind=kind,
            source=LedgerEntry.Source.IDEAL,
            external_id=f"{prefix}{round_money(reported):.2f}",
            amount=-(reported - booked),
            note=note,
            reverses=paid_entry,
        )
        return entry if created else None
    if reported < booked:
        _attention(
            payment,
            _("De betaaldienst meldt %(reported)s %(what)s, maar geboekt is %(booked)s.")
            % {
                "reported": _money(reported),
                "booked": _money(booked),
                "what": _("terugbetaald") if label == "refund" else _("teruggeboekt"),
            },
        )
    return None


@transaction.atomic
def payment_apply(
    *, payment: Payment, remote: ProviderPayment, today: dt.date | None = None
) -> PaymentChange:
    """Bring our payment and the ledger in line with what the provider reports. Safe to repeat.

    `today`: the day the payment is booked on when it turns out paid (the demo's history sets it).
    """
    if remote.id != payment.provider_id:
        raise ValueError(f"payment {payment.pk} is {payment.provider_id}, not {remote.id}")
    invoice = invoice_lock(payment.invoice_id)
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    change = PaymentChange(payment=payment)
    new_status = _next_status(payment.status, _our_status(remote.status))
    if new_status != payment.status:
        payment.status = new_status
    if payment.status != Payment.Status.PAID and remote.checkout_url:
        payment.checkout_url = remote.checkout_url

    paid_entry = LedgerEntry.objects.filter(
        source=LedgerEntry.Source.IDEAL, external_id=_external_id(payment)
    ).first()
    if remote.status == remote_status.PAID and paid_entry is None:
        paid_entry, created = ledger_book(
            invoice=invoice,
            kind=LedgerEntry.Kind.PAYMENT,
            source=LedgerEntry.Source.IDEAL,
            external_id=_external_id(payment),
            amount=remote.amount,
            booked_on=today,
            note=_("iDEAL-betaling %(id)s") % {"id": payment.provider_id},
        )
        if created:
            change.booked = paid_entry
            receipt_queue(entry=paid_entry)
            if remote.amount != payment.amount:
                _attention(
                    payment,
                    _("Betaald bedrag %(paid)s wijkt af van het gevraagde %(asked)s.")
                    % {"paid": _money(remote.amount), "asked": _money(payment.amount)},
                )
            balance = invoice_balance(invoice)
            if balance < ZERO:
                change.surplus = min(-balance, remote.amount)
                _attention(
                    payment,
                    _("Dubbel betaald: %(surplus)s te veel op factuur %(number)s.")
                    % {"surplus": _money(change.surplus), "number": invoice.number},
                )

    if paid_entry is not None:
        for kind, label, reported, note in (
            (
                LedgerEntry.Kind.REFUND,
                "refund",
                remote.amount_refunded,
                _("Terugbetaald via de betaaldienst"),
            ),
            (
                LedgerEntry.Kind.REVERSAL,
                "chargeback",
                remote.amount_charged_back,
                _("Teruggeboekt door de bank (chargeback)"),
            ),
        ):
            entry = _book_reversed(
                invoice=invoice,
                payment=payment,
                paid_entry=paid_entry,
                kind=kind,
                label=label,
                reported=reported,
                note=note,
            )
            if entry is not None:
                change.reversals.append(entry)
                if kind == LedgerEntry.Kind.REVERSAL:
                    _attention(
                        payment,
                        _("Teruggeboekt door de bank: %(amount)s; de factuur staat weer open.")
                        % {"amount": _money(-entry.amount)},
                    )
        payment.amount_refunded = remote.amount_refunded
        payment.amount_charged_back = remote.amount_charged_back
    payment.save()

    if change.surplus > ZERO:
        payment_id = payment.pk
        # A task, so a slow provider never slows or fails the webhook that booked the payment.
        task_enqueue("finance.tasks.payment_refund_surplus_task", payment_id, robust=True)
    return change


def payment_refresh(*, payment: Payment) -> PaymentChange | None:
    """Ask the provider about a payment and apply the answer (before the webhook has come)."""
    if not payment.provider_id:
        return None
    remote = provider_get(payment.provider).get_payment(payment.provider_id)
    return payment_apply(payment=payment, remote=remote)


def payment_webhook_received(provider_id: str) -> PaymentChange | None:
    """The provider says something happened to `provider_id`. None: not one of ours (logged).

    Raises ProviderError when the provider cannot be asked right now (answer 5xx, so it retries).
    """
    payment = Payment.objects.filter(provider_id=provider_id).exclude(provider_id="").first()
    if payment is None:
        logger.warning("Webhook for unknown payment %r ignored", provider_id[:100])
        return None
    try:
        provider = provider_get(payment.provider)
        remote = provider.get_payment(provider_id)
    except ProviderError as exc:
        if exc.temporary:
            raise
        logger.error("Webhook for payment %s cannot be handled: %s", provider_id, exc)
        return None
    return payment_apply(payment=payment, remote=remote)


# Paid twice: refunding the surplus --------------------------------------------------------------


class NothingToRefund(FinanceError):
    """The invoice is not (or no longer) paid too much."""


def payment_refund_surplus_automatically(*, payment_id: int) -> Decimal:
    """Right after a double payment was booked: refund the surplus, or say on the payment why not.

    Harmless twice: once refunded, the invoice is no longer overpaid and nothing more is asked.
    """
    payment = Payment.objects.filter(pk=payment_id).first()
    if payment is None:
        return ZERO
    try:
        return payment_refund_surplus(payment=payment, by=None)
    except NothingToRefund:
        return ZERO  # refunded already (a second run of the task), or paid back by hand
    except FinanceError as exc:
        with transaction.atomic():
            locked = Payment.objects.select_for_update().get(pk=payment_id)
            _attention(locked, str(exc))
            locked.save(update_fields=["needs_attention", "updated_at"])


@transaction.atomic
def payment_refund_surplus(*, payment: Payment, by: User | None) -> Decimal:
    """Pay back through the provider what this payment brought in above what the invoice needed.

    Runs by itself right after a double payment is booked; the treasurer can run it again from
    the payments page when that failed. Returns the amount refunded.
    """
    invoice = invoice_lock(payment.invoice_id)
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    if payment.status != Payment.Status.PAID:
        raise FinanceError(_("Alleen een geslaagde betaling kan worden terugbetaald."))
    left = payment.amount - payment.amount_refunded - payment.amount_charged_back
    amount = min(-invoice_balance(invoice), left)
    if amount <= ZERO:
        raise NothingToRefund(
            _("Er is niets terug te betalen: factuur %(number)s is niet te veel betaald.")
            % {"number": invoice.number}
        )
    try:
        provider = provider_get(payment.provider)
        provider.create_refund(
            payment_id=payment.provider_id,
            amount=amount,
            description=f"Terugbetaling {invoice.number}: dubbel betaald",
            idempotency_key=f"coop-surplus-{payment.pk}-{amount:.2f}",
        )
    except ProviderError as exc:
        logger.warning("Refunding %s of payment %s failed: %s", amount, payment.provider_id, exc)
        raise FinanceError(
            _(
                "Automatisch terugbetalen van %(amount)s lukte niet; betaal het terug via de "
                "betaaldienst of de bank."
            )
            % {"amount": _money(amount)}
        ) from None
    note = _("%(amount)s terugbetaald via de betaaldienst.") % {"amount": _money(amount)}
    try:
        remote = provider.get_payment(payment.provider_id)
    except ProviderError as exc:
        # The refund exists; the next webhook books it.
        logger.warning(
            "Refund of %s requested, reading it back failed: %s", payment.provider_id, exc
        )
    else:
        payment_apply(payment=payment, remote=remote)
        payment.refresh_from_db()
    _attention(payment, note)
    payment.save(update_fields=["needs_attention", "updated_at"])
    return amount


# The treasurer's list -------------------------------------------------------------------------


def payments_needing_attention() -> QuerySet[Payment]:
    return (
        Payment.objects.exclude(needs_attention="")
        .select_related("invoice")
        .order_by("-updated_at")
    )


@transaction.atomic
def payment_attention_resolve(*, payment: Payment, by: User | None) -> Payment:
    """The treasurer has dealt with it (refunded by hand, or agreed the surplus may stay)."""
    locked = Payment.objects.select_for_update().get(pk=payment.pk)
    if not locked.needs_attention:
        raise FinanceError(_("Deze betaling stond al op afgehandeld."))
    logger.info("Payment %s: attention resolved by %s (%s)", locked.pk, by, locked.needs_attention)
    locked.needs_attention = ""
    locked.save(update_fields=["needs_attention", "updated_at"])
    return locked


def payment_list(*, attention_only: bool = False) -> QuerySet[Payment]:
    payments = Payment.objects.select_related("invoice").order_by("-created_at")
    if attention_only:
        payments = payments.filter(~Q(needs_attention=""))
    return payments


# The demo provider's checkout page ----------------------------------------------------------------


def demo_checkout_complete(*, demo_id: str, outcome: str) -> str:
    """The member pressed Betaald, Mislukt or Geannuleerd on the demo checkout.

    Sets the demo payment's status, then runs exactly what Mollie's webhook runs. Returns where
    to send the member next (the return page the payment was started with).
    """
    from ..providers.demo import DemoProvider

    provider = DemoProvider()
    row = provider.checkout(id=demo_id, outcome=outcome)
    payment_webhook_received(row.pk)
    return row.redirect_url
