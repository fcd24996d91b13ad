import datetime as dt
from decimal import Decimal

import pytest

from coop.core.models import OutboxMessage
from finance.models import Invoice, InvoiceLine, LedgerEntry
from finance.services.ledger import invoice_number_next

from ..conftest import make_persona
from .conftest import force_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def open_invoice(household) -> Invoice:
    sequence, number = invoice_number_next(year=2026)
    invoice = Invoice.objects.create(
        year=2026,
        sequence=sequence,
        number=number,
        household=household,
        dues_year=2026,
        recipient_name="Huishouden Berg",
        recipient_email="member@example.org",
        street=household.street,
        house_number=str(household.house_number),
        postcode=household.postcode,
        town=household.town,
        issued_on=dt.date(2026, 1, 15),
        due_on=dt.date(2026, 2, 15),
        total=Decimal("17.50"),
    )
    InvoiceLine.objects.create(
        invoice=invoice, description="Contributie 2026", amount=Decimal("17.50")
    )
    return invoice


def test_member_pays_open_invoice_with_the_demo_provider(page, live_server, settings):
    settings.COOP_DEMO = True
    settings.PAYMENT_PROVIDER = "demo"
    settings.SITE_URL = live_server.url
    user = make_persona("member")
    invoice = open_invoice(user.member.household)
    force_login(page, user, live_server)

    page.goto("/mijn/facturen/")
    page.get_by_role("link", name=f"Betaal met iDEAL {invoice.number}").click()
    page.get_by_role("button", name="Betaal € 17,50 met iDEAL").click()
    page.get_by_role("button", name="Betaald").click()

    assert page.get_by_role("heading", level=1).inner_text() == "Betaald"
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    assert LedgerEntry.objects.filter(invoice=invoice, kind=LedgerEntry.Kind.PAYMENT).count() == 1
    receipt = OutboxMessage.objects.get(key__startswith="finance.receipt:")
    assert receipt.to_email == "member@example.org" and invoice.number in receipt.body_text

    page.goto("/mijn/facturen/")
    assert "Betaald" in page.locator("table").inner_text()
