"""Invoices paid too much: shown to the treasurer however they were paid, then refunded or kept
as credit that the household's next invoice uses."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from finance.models import BankTransaction, Invoice, LedgerEntry, Refund
from finance.selectors import finance_overview, invoices_overpaid
from finance.services import FinanceError
from finance.services.bank_links import transaction_resolve
from finance.services.dues import dues_run_execute, scheme_create
from finance.services.ledger import invoice_balance
from finance.services.overpayments import (
    household_credit,
    overpayment_keep_as_credit,
    overpayment_refund,
)
from finance.services.statements import statement_import

from .factories import MemberFactory
from .sepa_support import FIXTURES, make_invoice

pytestmark = pytest.mark.django_db

PAYER_IBAN = "NL20INGB0001234567"


def _statement(*, amount: str, remittance: str, ref: str = "OVER-1") -> bytes:
    """transfer.xml with one €`amount` transfer from R. Veenstra saying `remittance`."""
    text = (FIXTURES / "camt" / "transfer.xml").read_text()
    text = text.replace("10.00</Amt>", f"{amount}</Amt>")
    text = text.replace("1062.50", str(Decimal("1052.50") + Decimal(amount)))
    text = text.replace("Contributie factuur 2026-000004 fam. Bakker", remittance)
    text = text.replace("J. Bakker", "R. Veenstra &amp; Zn")
    text = text.replace("20261216-TR-0001", ref).replace("CAMT053-20261216-0001", ref)
    return text.encode()


def _balance(invoice: Invoice) -> Decimal:
    return invoice_balance(Invoice.objects.get(pk=invoice.pk))


@pytest.fixture
def treasurer_client(client, treasurer):
    client.force_login(treasurer)
    return client


@pytest.fixture
def household():
    return MemberFactory().household


@pytest.fixture
def matched(household):
    """A €17.50 invoice that a €20.00 transfer, matched from the statement, paid."""
    invoice = make_invoice(household)
    statement_import(
        file_name="over.xml",
        content=_statement(amount="20.00", remittance=f"Contributie {invoice.number}"),
        by=None,
    )
    assert _balance(invoice) == Decimal("-2.50")
    return invoice


def test_an_invoice_paid_too_much_by_transfer_shows_in_needs_attention(matched, treasurer_client):
    assert list(invoices_overpaid()) == [matched]
    assert finance_overview(year=2026)["overpaid_count"] == 1
    attention = treasurer_client.get(reverse("finance:payment_list") + "?aandacht=1")
    assert "1 factuur is te veel betaald" in attention.content.decode()
    page = treasurer_client.get(reverse("finance:overpaid_list")).content.decode()
    assert matched.number in page and "€ 2,50" in page
    assert reverse("finance:invoice_overpaid", args=[matched.pk]) in page


def test_linked_by_hand_from_the_unmatched_queue_shows_too(household):
    invoice = make_invoice(household)
    statement_import(
        file_name="over.xml", content=_statement(amount="20.00", remittance="contributie"), by=None
    )
    line = BankTransaction.objects.get(status=BankTransaction.Status.UNMATCHED)
    assert not invoices_overpaid().exists()
    transaction_resolve(transaction=line, invoice=invoice, by=None)
    assert [(i, i.balance) for i in invoices_overpaid()] == [(invoice, Decimal("-2.50"))]


def test_refund_is_booked_now_and_waits_to_be_paid_out(matched, treasurer_client):
    url = reverse("finance:invoice_overpaid", args=[matched.pk])
    form = treasurer_client.get(url).content.decode()
    # The account the money came from is offered.
    assert PAYER_IBAN in form and "R. Veenstra &amp; Zn" in form

    response = treasurer_client.post(
        url, {"way": "refund", "iban": "NL20 INGB 0001 2345 67", "account_holder": "R. Veenstra"}
    )
    assert response.status_code == 302
    refund = Refund.objects.get()
    assert (refund.invoice, refund.amount, refund.iban, refund.status) == (
        matched,
        Decimal("2.50"),
        PAYER_IBAN,
        Refund.Status.TO_PAY,
    )
    entry = LedgerEntry.objects.get(kind=LedgerEntry.Kind.REFUND)
    assert entry.amount == Decimal("-2.50") and entry.external_id == f"refund:{refund.pk}"
    assert _balance(matched) == Decimal("0.00")
    assert Invoice.objects.get(pk=matched.pk).status == Invoice.Status.PAID
    assert not invoices_overpaid().exists()
    page = treasurer_client.get(reverse("finance:overpaid_list")).content.decode()
    assert "Nog uit te betalen" in page and PAYER_IBAN in page and "€ 2,50" in page

    # A second submit (double click, second tab) refunds nothing more.
    again = treasurer_client.post(
        url, {"way": "refund", "iban": PAYER_IBAN, "account_holder": "R. Veenstra"}
    )
    assert again.status_code == 302
    assert Refund.objects.count() == 1
    with pytest.raises(FinanceError, match="niet \\(meer\\) te veel betaald"):
        overpayment_refund(invoice=matched, iban=PAYER_IBAN, account_holder="R", by=None)


def test_a_refund_needs_a_valid_iban_and_a_name(matched, treasurer_client):
    url = reverse("finance:invoice_overpaid", args=[matched.pk])
    response = treasurer_client.post(url, {"way": "refund", "iban": "", "account_holder": ""})
    assert response.status_code == 200
    assert "Vul het rekeningnummer (IBAN) in" in response.content.decode()
    with pytest.raises(FinanceError):
        overpayment_refund(invoice=matched, iban="NL00BANK0123456789", account_holder="R", by=None)
    assert not Refund.objects.exists() and _balance(matched) == Decimal("-2.50")


def test_credit_waits_for_the_households_next_invoice(matched, household, treasurer_client):
    response = treasurer_client.post(
        reverse("finance:invoice_overpaid", args=[matched.pk]), {"way": "credit"}
    )
    assert response.status_code == 302
    assert _balance(matched) == Decimal("0.00")
    assert household_credit(household) == Decimal("2.50")
    assert not invoices_overpaid().exists()
    with pytest.raises(FinanceError):
        overpayment_keep_as_credit(invoice=matched, by=None)  # once only
    assert household_credit(household) == Decimal("2.50")

    scheme_create(
        year=2027,
        first_member_amount=Decimal("10.00"),
        further_member_amount=Decimal("7.50"),
        reduced_amount=Decimal("5.00"),
    )
    other = MemberFactory(joined_on=dt.date(2020, 1, 1)).household
    household.members.update(joined_on=dt.date(2020, 1, 1))
    dues_run_execute(year=2027)
    new = Invoice.objects.get(household=household, dues_year=2027)
    assert new.total == Decimal("10.00") and _balance(new) == Decimal("7.50")
    assert new.status == Invoice.Status.PARTLY_PAID
    assert household_credit(household) == Decimal("0.00")
    assert _balance(Invoice.objects.get(household=other, dues_year=2027)) == Decimal("10.00")
    # Money moved between invoices, not in: the year's takings stay €20.00.
    assert finance_overview(year=2026)["paid_this_year"] == Decimal("20.00")


def test_credit_goes_at_once_onto_an_open_invoice(matched, household):
    open_one = make_invoice(household, Decimal("10.00"), year=2025)
    assert overpayment_keep_as_credit(invoice=matched, by=None) == Decimal("2.50")
    assert _balance(open_one) == Decimal("7.50")
    assert household_credit(household) == Decimal("0.00")
    entries = LedgerEntry.objects.filter(kind=LedgerEntry.Kind.SETTLEMENT).order_by("pk")
    assert [(e.invoice_id, e.amount) for e in entries] == [
        (matched.pk, Decimal("-2.50")),
        (open_one.pk, Decimal("2.50")),
    ]


def test_credit_larger_than_the_next_invoice_stays_for_the_one_after(household):
    invoice = make_invoice(household, Decimal("5.00"))
    statement_import(
        file_name="over.xml",
        content=_statement(amount="20.00", remittance=f"Contributie {invoice.number}"),
        by=None,
    )
    small = make_invoice(household, Decimal("10.00"), year=2025)
    overpayment_keep_as_credit(invoice=invoice, by=None)
    assert _balance(small) == Decimal("0.00")
    assert household_credit(household) == Decimal("5.00")
