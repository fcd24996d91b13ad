"""Corrections a treasurer needs: reversing a wrong booking, a late payment that reverses a
write-off, and amounts typed so that they cannot be misread."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.urls import reverse

from coop.core.models import OutboxMessage
from coop.lib.money import parse_money
from finance.dues_forms import ManualPaymentForm, SchemeForm
from finance.models import BankTransaction, Invoice, LedgerEntry
from finance.sepa_forms import SplitForm
from finance.services import FinanceError
from finance.services.bank_links import transaction_resolve
from finance.services.invoices import (
    invoice_write_off,
    ledger_entry_reverse,
    payment_record_manual,
)
from finance.services.ledger import (
    Booking,
    invoice_balance,
    invoices_refresh_status,
    ledger_book,
    ledger_book_many,
)
from finance.services.receipts import receipt_key
from finance.services.statements import statement_import

from .factories import MemberFactory
from .sepa_support import FIXTURES, exported_batch, household_with_mandate, make_invoice

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 3, 2)


def _statement(*, amount: str, remittance: str, ref: str = "CORR-1") -> bytes:
    """transfer.xml with one €`amount` transfer saying `remittance` (as test_overpayments)."""
    text = (FIXTURES / "camt" / "transfer.xml").read_text()
    text = text.replace("10.00</Amt>", f"{amount}</Amt>")
    text = text.replace("1062.50", str(Decimal("1052.50") + Decimal(amount)))
    text = text.replace("Contributie factuur 2026-000004 fam. Bakker", remittance)
    text = text.replace("20261216-TR-0001", ref).replace("CAMT053-20261216-0001", ref)
    return text.encode()


def _fresh(invoice: Invoice) -> Invoice:
    return Invoice.objects.get(pk=invoice.pk)


def _booked(invoice: Invoice) -> Decimal:
    return LedgerEntry.objects.filter(invoice=invoice).aggregate(s=Sum("amount"))["s"]


def _status_and_balance(invoice: Invoice) -> tuple[str, Decimal]:
    invoice = _fresh(invoice)
    return invoice.status, invoice_balance(invoice)


@pytest.fixture
def invoice():
    return make_invoice(MemberFactory(email="lid@example.org").household)


@pytest.fixture
def treasurer_client(client, treasurer):
    client.force_login(treasurer)
    return client


# 1. Reversing a wrong booking -----------------------------------------------------------------


def test_a_manual_payment_reversed_opens_the_invoice_again(invoice, treasurer):
    entry = payment_record_manual(invoice=invoice, amount=Decimal("17.50"), booked_on=DAY)
    assert _status_and_balance(invoice) == (Invoice.Status.PAID, Decimal("0.00"))

    reversal = ledger_entry_reverse(entry=entry, reason="Verkeerde factuur", by=treasurer)

    assert (reversal.kind, reversal.source, reversal.amount, reversal.reverses) == (
        LedgerEntry.Kind.REVERSAL,
        LedgerEntry.Source.MANUAL,
        Decimal("-17.50"),
        entry,
    )
    assert reversal.external_id == f"reverse:{entry.pk}"
    assert "Verkeerde factuur" in reversal.note and reversal.created_by == treasurer
    assert _booked(invoice) == Decimal("0.00")
    assert _status_and_balance(invoice) == (Invoice.Status.OPEN, Decimal("17.50"))
    assert entry.amount == LedgerEntry.objects.get(pk=entry.pk).amount  # never edited

    with pytest.raises(FinanceError, match="al teruggedraaid"):
        ledger_entry_reverse(entry=entry, reason="nog eens", by=treasurer)
    assert LedgerEntry.objects.filter(kind=LedgerEntry.Kind.REVERSAL).count() == 1
    assert _booked(invoice) == Decimal("0.00")


def test_a_partial_manual_payment_reversed_leaves_the_other_payment(invoice):
    payment_record_manual(invoice=invoice, amount=Decimal("5.00"), booked_on=DAY)
    wrong = payment_record_manual(invoice=invoice, amount=Decimal("10.00"), booked_on=DAY)
    ledger_entry_reverse(entry=wrong, reason="dubbel geboekt")
    assert _status_and_balance(invoice) == (Invoice.Status.PARTLY_PAID, Decimal("12.50"))


def test_a_reason_is_required(invoice):
    entry = payment_record_manual(invoice=invoice, amount=Decimal("17.50"), booked_on=DAY)
    with pytest.raises(FinanceError, match="reden"):
        ledger_entry_reverse(entry=entry, reason="  ")
    assert not LedgerEntry.objects.filter(kind=LedgerEntry.Kind.REVERSAL).exists()


@pytest.mark.parametrize(
    ("kind", "source", "message"),
    [
        (LedgerEntry.Kind.PAYMENT, LedgerEntry.Source.IDEAL, "betaalprovider"),
        (LedgerEntry.Kind.PAYMENT, LedgerEntry.Source.SEPA, "storno van de bank"),
        (LedgerEntry.Kind.CREDIT, LedgerEntry.Source.CREDIT_NOTE, "creditnota"),
        (LedgerEntry.Kind.SETTLEMENT, LedgerEntry.Source.BALANCE, "tegoed"),
    ],
)
def test_what_is_reversed_elsewhere_is_refused(invoice, kind, source, message):
    entry, _created = ledger_book(
        invoice=invoice, kind=kind, source=source, external_id="x-1", amount=Decimal("17.50")
    )
    with pytest.raises(FinanceError, match=message):
        ledger_entry_reverse(entry=entry, reason="fout")
    assert _booked(invoice) == Decimal("17.50")


def test_refunds_and_reversals_are_refused(invoice):
    payment = payment_record_manual(invoice=invoice, amount=Decimal("20.00"), booked_on=DAY)
    refund, _ = ledger_book(
        invoice=invoice,
        kind=LedgerEntry.Kind.REFUND,
        source=LedgerEntry.Source.MANUAL,
        external_id="refund:test",
        amount=Decimal("-2.50"),
    )
    with pytest.raises(FinanceError, match="terugbetaling"):
        ledger_entry_reverse(entry=refund, reason="fout")
    reversal = ledger_entry_reverse(entry=payment, reason="fout")
    with pytest.raises(FinanceError, match="terugboeking"):
        ledger_entry_reverse(entry=reversal, reason="fout")
    assert _booked(invoice) == Decimal("-2.50")


def test_refused_while_the_invoice_waits_in_a_direct_debit(treasurer_client):
    member, mandate = household_with_mandate(1)
    invoice = make_invoice(member.household)
    entry = payment_record_manual(invoice=invoice, amount=Decimal("5.00"), booked_on=DAY)
    exported_batch([(invoice, mandate)])
    with pytest.raises(FinanceError, match="incassobatch"):
        ledger_entry_reverse(entry=entry, reason="fout")
    page = treasurer_client.get(reverse("finance:invoice_detail", args=[invoice.pk]))
    assert reverse("finance:ledger_entry_reverse", args=[entry.pk]) not in page.content.decode()
    assert _booked(invoice) == Decimal("5.00")


def test_a_transfer_linked_by_hand_goes_back_to_the_unmatched_queue(invoice):
    other = make_invoice(MemberFactory().household)
    statement_import(
        file_name="a.xml", content=_statement(amount="17.50", remittance="contributie"), by=None
    )
    line = BankTransaction.objects.get(status=BankTransaction.Status.UNMATCHED)
    transaction_resolve(transaction=line, invoice=other, by=None)  # the wrong one
    wrong = LedgerEntry.objects.get(invoice=other, kind=LedgerEntry.Kind.PAYMENT)
    assert wrong.source == LedgerEntry.Source.TRANSFER
    assert _status_and_balance(other) == (Invoice.Status.PAID, Decimal("0.00"))

    ledger_entry_reverse(entry=wrong, reason="Hoort bij een andere factuur")

    assert _status_and_balance(other) == (Invoice.Status.OPEN, Decimal("17.50"))
    line.refresh_from_db()
    assert (line.status, line.invoice) == (BankTransaction.Status.UNMATCHED, None)
    assert "teruggedraaid" in line.note

    transaction_resolve(transaction=line, invoice=invoice, by=None)  # now the right one
    transaction_resolve_again = LedgerEntry.objects.filter(
        invoice=invoice, kind=LedgerEntry.Kind.PAYMENT
    )
    assert transaction_resolve_again.count() == 1
    assert transaction_resolve_again.get().external_id == f"{line.entry_key}~1"
    assert _status_and_balance(invoice) == (Invoice.Status.PAID, Decimal("0.00"))
    assert _status_and_balance(other) == (Invoice.Status.OPEN, Decimal("17.50"))
    line.refresh_from_db()
    assert (line.status, line.invoice) == (BankTransaction.Status.RESOLVED, invoice)
    with pytest.raises(FinanceError):
        transaction_resolve(transaction=line, invoice=invoice, by=None)
    assert LedgerEntry.objects.filter(source=LedgerEntry.Source.TRANSFER).count() == 2

    # Linked wrongly a second time? Reverse again, link again: ~2.
    second = transaction_resolve_again.get()
    ledger_entry_reverse(entry=second, reason="toch niet")
    line.refresh_from_db()
    assert line.status == BankTransaction.Status.UNMATCHED
    transaction_resolve(transaction=line, invoice=other, by=None)
    assert LedgerEntry.objects.get(
        invoice=other, kind=LedgerEntry.Kind.PAYMENT, external_id__endswith="~2"
    )
    assert _status_and_balance(other) == (Invoice.Status.PAID, Decimal("0.00"))
    assert _status_and_balance(invoice) == (Invoice.Status.OPEN, Decimal("17.50"))


def test_a_transfer_matched_from_the_statement_can_be_reversed_too(invoice):
    statement_import(
        file_name="b.xml",
        content=_statement(amount="17.50", remittance=f"Contributie {invoice.number}"),
        by=None,
    )
    line = BankTransaction.objects.get()
    assert (line.status, line.invoice) == (BankTransaction.Status.MATCHED, invoice)
    entry = LedgerEntry.objects.get(invoice=invoice)
    ledger_entry_reverse(entry=entry, reason="Verkeerd gematcht")
    line.refresh_from_db()
    assert (line.status, line.invoice) == (BankTransaction.Status.UNMATCHED, None)
    assert _status_and_balance(invoice) == (Invoice.Status.OPEN, Decimal("17.50"))


def test_a_write_off_reversed_opens_the_invoice_again(invoice):
    payment_record_manual(invoice=invoice, amount=Decimal("5.00"), booked_on=DAY)
    write_off = invoice_write_off(invoice=invoice, reason="vertrokken")
    assert _status_and_balance(invoice) == (Invoice.Status.WRITTEN_OFF, Decimal("0.00"))
    reversal = ledger_entry_reverse(entry=write_off, reason="Toch gevonden")
    assert reversal.amount == Decimal("-12.50") and reversal.reverses == write_off
    assert _status_and_balance(invoice) == (Invoice.Status.PARTLY_PAID, Decimal("12.50"))
    with pytest.raises(FinanceError, match="al teruggedraaid"):
        ledger_entry_reverse(entry=write_off, reason="nog eens")
    # It can be written off again.
    invoice_write_off(invoice=invoice, reason="toch vertrokken")
    assert _status_and_balance(invoice) == (Invoice.Status.WRITTEN_OFF, Decimal("0.00"))


# 2. A late payment on a written-off invoice -----------------------------------------------------


def test_a_late_full_payment_reverses_the_write_off(invoice):
    write_off = invoice_write_off(invoice=invoice, reason="niet te bereiken")
    entry = payment_record_manual(invoice=invoice, amount=Decimal("17.50"), booked_on=DAY)

    assert _status_and_balance(invoice) == (Invoice.Status.PAID, Decimal("0.00"))
    reversal = LedgerEntry.objects.get(kind=LedgerEntry.Kind.REVERSAL)
    assert (reversal.amount, reversal.reverses, reversal.source) == (
        Decimal("-17.50"),
        write_off,
        LedgerEntry.Source.MANUAL,
    )
    assert reversal.external_id.startswith(f"write-off-reversed:{entry.pk}")
    assert _booked(invoice) == Decimal("17.50")
    receipt = OutboxMessage.objects.get(key=receipt_key(entry))
    assert "meer betaald dan nodig" not in receipt.body_text
    assert "terug op de rekening" not in receipt.body_text
    assert "helemaal betaald" in receipt.body_text


def test_a_late_partial_payment_reverses_that_much_of_the_write_off(invoice):
    write_off = invoice_write_off(invoice=invoice, reason="niet te bereiken")
    entry = payment_record_manual(invoice=invoice, amount=Decimal("10.00"), booked_on=DAY)

    assert _status_and_balance(invoice) == (Invoice.Status.WRITTEN_OFF, Decimal("0.00"))
    reversal = LedgerEntry.objects.get(kind=LedgerEntry.Kind.REVERSAL)
    assert (reversal.amount, reversal.reverses) == (Decimal("-10.00"), write_off)
    receipt = OutboxMessage.objects.get(key=receipt_key(entry))
    assert "meer betaald dan nodig" not in receipt.body_text
    assert "niets meer te betalen" in receipt.body_text  # the rest is written off
    assert "helemaal betaald" not in receipt.body_text

    # The rest comes in later too: paid.
    payment_record_manual(invoice=invoice, amount=Decimal("7.50"), booked_on=DAY)
    assert _status_and_balance(invoice) == (Invoice.Status.PAID, Decimal("0.00"))
    assert sum(r.amount for r in write_off.reversals.all()) == Decimal("-17.50")

    # A payment on top of that is a real surplus, to refund.
    third = payment_record_manual(invoice=invoice, amount=Decimal("2.00"), booked_on=DAY)
    assert _status_and_balance(invoice) == (Invoice.Status.PAID, Decimal("-2.00"))
    assert "€ 2,00 meer betaald" in OutboxMessage.objects.get(key=receipt_key(third)).body_text


def test_a_late_payment_above_the_write_off_leaves_only_the_real_surplus(invoice):
    payment_record_manual(invoice=invoice, amount=Decimal("7.50"), booked_on=DAY)
    invoice_write_off(invoice=invoice, reason="weg")  # €10.00
    payment_record_manual(invoice=invoice, amount=Decimal("12.00"), booked_on=DAY)
    assert _status_and_balance(invoice) == (Invoice.Status.PAID, Decimal("-2.00"))
    assert _booked(invoice) == Decimal("19.50")


def test_a_late_payment_from_a_statement_reverses_the_write_off(invoice):
    invoice_write_off(invoice=invoice, reason="weg")
    statement_import(
        file_name="late.xml",
        content=_statement(amount="17.50", remittance="contributie"),
        by=None,
    )
    line = BankTransaction.objects.get(status=BankTransaction.Status.UNMATCHED)
    transaction_resolve(transaction=line, invoice=invoice, by=None)
    assert _status_and_balance(invoice) == (Invoice.Status.PAID, Decimal("0.00"))


def test_ledger_book_many_reverses_write_offs_and_leaves_the_others_alone(invoice):
    plain = make_invoice(MemberFactory().household)
    write_off = invoice_write_off(invoice=invoice, reason="weg")
    created = ledger_book_many(
        bookings=[
            Booking(
                invoice_id=i.pk,
                kind=LedgerEntry.Kind.PAYMENT,
                source=LedgerEntry.Source.TRANSFER,
                external_id=f"many-{i.pk}",
                amount=Decimal("17.50"),
                booked_on=DAY,
            )
            for i in (invoice, plain)
        ]
    )
    assert len(created) == 2
    assert _status_and_balance(invoice) == (Invoice.Status.PAID, Decimal("0.00"))
    assert _status_and_balance(plain) == (Invoice.Status.PAID, Decimal("0.00"))
    assert list(LedgerEntry.objects.filter(kind=LedgerEntry.Kind.REVERSAL)) == list(
        write_off.reversals.all()
    )
    assert write_off.reversals.get().amount == Decimal("-17.50")


def test_reversing_the_late_payment_writes_the_invoice_off_again(invoice):
    invoice_write_off(invoice=invoice, reason="weg")
    late = payment_record_manual(invoice=invoice, amount=Decimal("17.50"), booked_on=DAY)
    assert _fresh(invoice).status == Invoice.Status.PAID
    ledger_entry_reverse(entry=late, reason="Op de verkeerde factuur geboekt")
    assert _status_and_balance(invoice) == (Invoice.Status.WRITTEN_OFF, Decimal("0.00"))
    assert _booked(invoice) == Decimal("17.50")


def test_the_status_counts_only_write_offs_not_reversed(invoice):
    write_off = invoice_write_off(invoice=invoice, reason="weg")
    ledger_book(
        invoice=invoice,
        kind=LedgerEntry.Kind.PAYMENT,
        source=LedgerEntry.Source.TRANSFER,
        external_id="late-1",
        amount=Decimal("17.50"),
    )
    Invoice.objects.filter(pk=invoice.pk).update(status=Invoice.Status.WRITTEN_OFF)
    invoices_refresh_status([invoice.pk])
    assert _fresh(invoice).status == Invoice.Status.PAID
    assert write_off.reversals.count() == 1


# 3. Amounts typed in the treasurer's forms ------------------------------------------------------


def _payment_form(amount: str) -> ManualPaymentForm:
    return ManualPaymentForm(data={"amount": amount, "booked_on": "2026-02-01"})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1e3", "Vul een bedrag in"),
        ("7,555", "hoogstens twee cijfers"),
        ("7.5555", "hoogstens twee cijfers"),
        ("0.555", "hoogstens twee cijfers"),
        ("7.555", "Is 7.555 bedoeld als € 7.555,00?"),
        ("1.234", "Is 1.234 bedoeld als € 1.234,00?"),
        ("1,234.56", "Vul een bedrag in"),
        ("7,5,0", "Vul een bedrag in"),
    ],
)
def test_the_forms_refuse_amounts_they_would_misread(text, message):
    form = _payment_form(text)
    assert not form.is_valid()
    assert message in form.errors["amount"][0]
    scheme = SchemeForm(data={"first_member_amount": text})
    assert not scheme.is_valid() and message in scheme.errors["first_member_amount"][0]
    split = SplitForm(data={"invoice_1": "2026-000001", "amount_1": text})
    assert not split.is_valid() and message in split.errors["amount_1"][0]


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("7,55", "7.55"),
        ("7,5", "7.50"),
        ("17.50", "17.50"),
        ("7.5", "7.50"),
        ("1.234,56", "1234.56"),
        ("€ 1.234,56", "1234.56"),
        ("25", "25.00"),
        ("12.345,67", "12345.67"),
    ],
)
def test_the_forms_read_amounts_as_people_type_them(text, amount):
    form = _payment_form(text)
    assert form.is_valid(), form.errors
    assert form.cleaned_data["amount"] == Decimal(amount)


def test_bank_files_keep_reading_their_amounts():
    assert parse_money("7.5") == Decimal("7.50")  # CAMT
    assert parse_money("7,5") == Decimal("7.50")  # MT940
    assert parse_money("1234.567") == Decimal("1234.57")  # unchanged for files
    with pytest.raises(ValueError):
        parse_money("1e3")


def test_a_refused_amount_books_nothing_through_the_page(invoice, treasurer_client):
    url = reverse("finance:invoice_payment_manual", args=[invoice.pk])
    response = treasurer_client.post(url, {"amount": "1e3", "booked_on": "2026-02-01"})
    assert response.status_code == 200
    response = treasurer_client.post(url, {"amount": "7,555", "booked_on": "2026-02-01"})
    assert "hoogstens twee cijfers" in response.content.decode()
    assert not LedgerEntry.objects.exists()


# The page -------------------------------------------------------------------------------------


def test_the_treasurer_reverses_from_the_invoice_page(invoice, treasurer_client):
    entry = payment_record_manual(invoice=invoice, amount=Decimal("17.50"), booked_on=DAY)
    ideal, _ = ledger_book(
        invoice=invoice,
        kind=LedgerEntry.Kind.PAYMENT,
        source=LedgerEntry.Source.IDEAL,
        external_id="tr_1",
        amount=Decimal("1.00"),
    )
    detail = treasurer_client.get(reverse("finance:invoice_detail", args=[invoice.pk]))
    html = detail.content.decode()
    url = reverse("finance:ledger_entry_reverse", args=[entry.pk])
    assert url in html and "Terugdraaien" in html
    assert reverse("finance:ledger_entry_reverse", args=[ideal.pk]) not in html

    form = treasurer_client.get(url)
    assert form.status_code == 200 and 'name="form_token"' in form.content.decode()
    refused = treasurer_client.post(url, {"reason": "", "confirm": "on"})
    assert refused.status_code == 200
    assert not LedgerEntry.objects.filter(kind=LedgerEntry.Kind.REVERSAL).exists()

    token = form.content.decode().split('name="form_token" value="')[1].split('"')[0]
    done = treasurer_client.post(
        url, {"reason": "Verkeerde factuur", "confirm": "on", "form_token": token}
    )
    assert done.status_code == 302
    assert done["Location"] == reverse("finance:invoice_detail", args=[invoice.pk])
    assert _status_and_balance(invoice) == (Invoice.Status.PARTLY_PAID, Decimal("16.50"))
    assert LedgerEntry.objects.filter(kind=LedgerEntry.Kind.REVERSAL).count() == 1

    # An iDEAL payment's page sends back with the reason.
    back = treasurer_client.get(reverse("finance:ledger_entry_reverse", args=[ideal.pk]))
    assert back.status_code == 302
    assert "betaalprovider" in treasurer_client.get(back["Location"]).content.decode()


def test_a_member_cannot_reverse(invoice, client, member_user):
    entry = payment_record_manual(invoice=invoice, amount=Decimal("17.50"), booked_on=DAY)
    client.force_login(member_user)
    url = reverse("finance:ledger_entry_reverse", args=[entry.pk])
    assert client.get(url).status_code in (403, 404)
    assert client.post(url, {"reason": "x", "confirm": "on"}).status_code in (403, 404)
    assert not LedgerEntry.objects.filter(kind=LedgerEntry.Kind.REVERSAL).exists()
    assert _fresh(invoice).status == Invoice.Status.PAID
