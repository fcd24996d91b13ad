"""Helpers for the direct debit, bank statement and reminder tests: invoices made directly."""

import datetime as dt
from decimal import Decimal

from schwifty import IBAN

from finance.models import CollectionBatch, CollectionItem, Invoice, InvoiceLine, Mandate
from finance.services.ledger import invoice_number_next
from finance.services.mandates import mandate_record_paper

from .factories import MemberFactory

FIXTURES = __import__("pathlib").Path(__file__).parent / "fixtures"


def iban_for(n: int) -> str:
    return str(IBAN.generate("NL", bank_code="ABNA", account_code=f"{n:010d}").compact)


def make_invoice(
    household,
    total: Decimal = Decimal("17.50"),
    *,
    year: int = 2026,
    issued_on: dt.date = dt.date(2026, 1, 15),
    due_on: dt.date = dt.date(2026, 2, 14),
) -> Invoice:
    sequence, number = invoice_number_next(year=year)
    member = household.members.order_by("number").first()
    invoice = Invoice.objects.create(
        year=year,
        sequence=sequence,
        number=number,
        household=household,
        dues_year=year,
        recipient_name=member.full_name if member else "Bewoner",
        recipient_email=member.email if member else "",
        street=household.street,
        house_number=household.house_number_full,
        postcode=household.postcode,
        town=household.town,
        issued_on=issued_on,
        due_on=due_on,
        total=total,
    )
    InvoiceLine.objects.create(
        invoice=invoice, member=member, description=f"Contributie {year}", amount=total
    )
    return invoice


def household_with_mandate(
    n: int,
    *,
    email: str | None = None,
    signed_on=dt.date(2026, 1, 10),
    account_holder: str | None = None,
):
    """A member with their own household and an active paper mandate."""
    kwargs = {} if email is None else {"email": email}
    member = MemberFactory(**kwargs)
    mandate = mandate_record_paper(
        household=member.household,
        account_holder=account_holder or member.full_name,
        iban=iban_for(n),
        signed_on=signed_on,
        signed_by=member,
        by=None,
    )
    return member, mandate


def exported_batch(
    invoices_and_mandates, *, batch_no: int = 1, collection_date=dt.date(2026, 12, 15)
):
    """A batch as if exported, with fixed ids, so hand-written statement files can point at it:
    message id WKC-20261215-<batch_no>, EndToEndIds '<invoice number>-B<batch_no>'."""
    batch = CollectionBatch.objects.create(
        collection_date=collection_date,
        status=CollectionBatch.Status.EXPORTED,
        message_id=f"WKC-{collection_date:%Y%m%d}-{batch_no}",
        schema_version="pain.008.001.02",
    )
    items = []
    for invoice, mandate in invoices_and_mandates:
        items.append(
            CollectionItem.objects.create(
                batch=batch,
                invoice=invoice,
                mandate=mandate,
                amount=invoice.total,
                end_to_end_id=f"{invoice.number}-B{batch_no}",
            )
        )
    return batch, items


def active_mandate(household) -> Mandate | None:
    return household.mandates.filter(status=Mandate.Status.ACTIVE).first()
