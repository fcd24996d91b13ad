"""Invoice and credit note PDFs. They show what was copied onto the invoice when it was issued,
never the household's current address or names."""

from django.conf import settings
from django.db.models import Sum
from django.utils import translation

from coop.core.models import Organisation
from coop.lib.money import ZERO, round_money
from coop.lib.pdf import render_pdf
from coop.lib.urls import absolute_url

from .models import Invoice, LedgerEntry
from .selectors import MONEY_KINDS


def invoice_pdf_context(invoice: Invoice) -> dict:
    entries = LedgerEntry.objects.filter(invoice=invoice)
    booked = entries.aggregate(s=Sum("amount"))["s"] or ZERO
    paid = entries.filter(kind__in=MONEY_KINDS).aggregate(s=Sum("amount"))["s"] or ZERO
    is_credit = invoice.kind == Invoice.Kind.CREDIT_NOTE
    is_payable = not is_credit and invoice.status in (
        Invoice.Status.OPEN,
        Invoice.Status.PARTLY_PAID,
    )
    return {
        "invoice": invoice,
        "lines": list(invoice.lines.all()),
        "organisation": Organisation.current(),
        "is_credit": is_credit,
        "is_payable": is_payable,
        "paid": round_money(paid),
        "balance": round_money(invoice.total - booked),
        "iban": settings.SEPA_CREDITOR_IBAN,
        "account_name": settings.SEPA_CREDITOR_NAME,
        "portal_url": absolute_url("finance:my_invoices"),
    }


def invoice_pdf(invoice: Invoice) -> bytes:
    """The PDF in the language the invoice was issued in."""
    with translation.override(invoice.language or "nl"):
        return render_pdf("finance/pdf/invoice.html", invoice_pdf_context(invoice))


def invoice_pdf_filename(invoice: Invoice) -> str:
    prefix = "creditnota" if invoice.kind == Invoice.Kind.CREDIT_NOTE else "factuur"
    return f"{prefix}-{invoice.number}.pdf"
