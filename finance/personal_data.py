"""Finance's part of "download my data": the household's invoices, payments, mandates, refunds.

Registered from FinanceConfig.ready(); the contract is in coop/core/personal_data.py. Money is
what the household owes and pays together, so every member of it sees the household's invoices
(as in the portal), plus invoices of an earlier household that named this member on a line.

A mandate's full IBAN goes only to the member who signed it; housemates get it masked, as the
portal shows it, because the account may be someone else's. Draft debit batches are left out:
until the treasurer exports one it may still change, and nothing has been collected.
"""

from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from coop.core.personal_data import JSON, iso, money, register
from members.models import Member

from .models import (
    CollectionBatch,
    CollectionItem,
    Invoice,
    InvoiceLine,
    LedgerEntry,
    Mandate,
    Payment,
    Refund,
)
from .selectors import invoices_with_balance
from .services.identifiers import iban_masked


def _invoices(member: Member) -> QuerySet[Invoice]:
    named = InvoiceLine.objects.filter(member=member).values("invoice_id")
    return Invoice.objects.filter(Q(household_id=member.household_id) | Q(pk__in=named))


@register("invoices", _("Facturen van uw huishouden"))
def invoices_data(member: Member) -> JSON:
    invoices = (
        invoices_with_balance(_invoices(member))
        .select_related("credited_invoice")
        .prefetch_related("lines")
        .order_by("issued_on", "year", "sequence")
    )
    return [
        {
            "number": invoice.number,
            "kind": invoice.kind,
            "issued_on": iso(invoice.issued_on),
            "due_on": iso(invoice.due_on),
            "dues_year": invoice.dues_year,
            "credits_invoice": invoice.credited_invoice.number
            if invoice.credited_invoice
            else None,
            "sent_to": {
                "name": invoice.recipient_name,
                "email": invoice.recipient_email,
                "address": invoice.address_lines,
            },
            "lines": [
                {"description": line.description, "amount": money(line.amount)}
                for line in invoice.lines.all()
            ],
            "amount": money(invoice.total),
            "status": invoice.status,
            "balance": money(invoice.balance),  # type: ignore[attr-defined]
        }
        for invoice in invoices
    ]


@register("payments", _("Betalingen en boekingen"))
def payments_data(member: Member) -> JSON:
    entries = (
        LedgerEntry.objects.filter(invoice__in=_invoices(member))
        .select_related("invoice")
        .order_by("booked_on", "pk")
    )
    return [
        {
            "invoice": entry.invoice.number,
            "booked_on": iso(entry.booked_on),
            "amount": money(entry.amount),
            "kind": entry.kind,
            "method": entry.source,
            "description": entry.note,
        }
        for entry in entries
    ]


@register("online_payments", _("Online betalingen (iDEAL)"))
def online_payments_data(member: Member) -> JSON:
    payments = (
        Payment.objects.filter(invoice__in=_invoices(member))
        .select_related("invoice")
        .order_by("created_at", "pk")
    )
    return [
        {
            "invoice": payment.invoice.number,
            "started_at": iso(payment.created_at),
            "amount": money(payment.amount),
            "status": payment.status,
            "provider": payment.provider,
            "refunded": money(payment.amount_refunded),
            "charged_back": money(payment.amount_charged_back),
        }
        for payment in payments
    ]


@register("mandates", _("Machtigingen voor automatische incasso"))
def mandates_data(member: Member) -> JSON:
    mandates = (
        Mandate.objects.filter(Q(household_id=member.household_id) | Q(signed_by=member))
        .select_related("signed_by")
        .order_by("signed_on", "pk")
    )
    return [
        {
            "reference": mandate.reference,
            "account_holder": mandate.account_holder,
            "iban": mandate.iban
            if mandate.signed_by_id == member.pk
            else iban_masked(mandate.iban),
            "bic": mandate.bic,
            "signed_on": iso(mandate.signed_on),
            "signed_by": mandate.signed_by.full_name if mandate.signed_by else None,
            "via": mandate.via,
            "status": mandate.status,
            "last_used_on": iso(mandate.last_used_on),
            "revoked_on": iso(mandate.revoked_on),
        }
        for mandate in mandates
    ]


@register("direct_debits", _("Automatische incasso's"))
def direct_debits_data(member: Member) -> JSON:
    items = (
        CollectionItem.objects.filter(invoice__in=_invoices(member))
        .exclude(batch__status=CollectionBatch.Status.DRAFT)
        .select_related("batch", "invoice", "mandate")
        .order_by("batch__collection_date", "pk")
    )
    return [
        {
            "invoice": item.invoice.number,
            "mandate": item.mandate.reference,
            "collection_date": iso(item.batch.collection_date),
            "amount": money(item.amount),
            "status": item.status,
            "return_reason": item.return_reason,
        }
        for item in items
    ]


@register("refunds", _("Terugbetalingen"))
def refunds_data(member: Member) -> JSON:
    # The account a refund goes to is shown as the portal would show a mandate's: masked.
    refunds = Refund.objects.filter(invoice__in=_invoices(member)).select_related("invoice")
    return [
        {
            "invoice": refund.invoice.number,
            "amount": money(refund.amount),
            "to": refund.account_holder,
            "iban": iban_masked(refund.iban),
            "status": refund.status,
            "recorded_on": iso(refund.created_at.date()),
        }
        for refund in refunds.order_by("created_at", "pk")
    ]
