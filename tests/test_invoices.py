"""Invoices after the dues run: credit notes, write-offs, manual payments, the ledger, the PDF, the
pages and who may see them."""

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from coop.core.models import NumberSequence
from coop.core.services import sequence_key
from finance.models import ContributionScheme, Invoice, LedgerEntry, Mandate
from finance.selectors import household_dues_status
from finance.services import FinanceError
from finance.services.dues import dues_run_execute, scheme_create
from finance.services.invoices import invoice_credit, invoice_write_off, payment_record_manual
from finance.services.ledger import invoice_balance
from members.models import Member

from .conftest import make_persona
from .factories import HouseholdFactory, MemberFactory

YEAR = 2025
TODAY = timezone.localdate
pytestmark = pytest.mark.django_db


@pytest.fixture
def scheme():
    return scheme_create(
        year=YEAR,
        first_member_amount=Decimal("10.00"),
        further_member_amount=Decimal("7.50"),
        reduced_amount=Decimal("5.00"),
    )


def issue(*sizes: int) -> list[Invoice]:
    """One household per size, run the dues, return their invoices in the same order."""
    households = []
    for size in sizes:
        household = HouseholdFactory()
        for index in range(size):
            MemberFactory(
                household=household,
                given_name=["Jan", "Fatima", "Kees", "Anna"][index % 4],
                joined_on=dt.date(2020, 1, 1 + index),
            )
        households.append(household)
    dues_run_execute(year=YEAR)
    return [Invoice.objects.get(household=h, dues_year=YEAR) for h in households]


@pytest.fixture
def invoice(scheme):
    return issue(3)[0]


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


# Credit notes --------------------------------------------------------------------------------


def test_credit_note(invoice, treasurer):
    before = NumberSequence.objects.get(
        name=sequence_key(f"finance.invoice.{TODAY().year}")
    ).last_value
    credit = invoice_credit(invoice=invoice, reason="Verhuisd voor 1 januari", by=treasurer)
    invoice.refresh_from_db()
    assert credit.kind == Invoice.Kind.CREDIT_NOTE
    assert credit.total == Decimal("-25.00")
    assert credit.sequence == before + 1
    assert credit.number == f"{TODAY().year}-{before + 1:06d}"
    assert credit.credited_invoice == invoice
    assert [line.amount for line in credit.lines.all()] == [
        Decimal("-10.00"),
        Decimal("-7.50"),
        Decimal("-7.50"),
    ]
    assert invoice.status == Invoice.Status.CREDITED
    assert invoice_balance(invoice) == Decimal("0.00")
    entry = invoice.entries.get()
    assert (entry.kind, entry.source, entry.external_id, entry.amount) == (
        LedgerEntry.Kind.CREDIT,
        LedgerEntry.Source.CREDIT_NOTE,
        credit.number,
        Decimal("25.00"),
    )
    assert Invoice.objects.filter(pk=invoice.pk).exists()
    with pytest.raises(FinanceError, match="al gecrediteerd"):
        invoice_credit(invoice=invoice, reason="nogmaals")
    with pytest.raises(FinanceError):
        invoice_credit(invoice=credit, reason="creditnota van creditnota")
    # Paying a credited invoice is refused; the run does not issue a new one for the household.
    with pytest.raises(FinanceError, match="gecrediteerd"):
        payment_record_manual(invoice=invoice, amount=Decimal("25.00"), booked_on=TODAY())
    assert dues_run_execute(year=YEAR).created == 0


def test_credit_needs_a_reason_and_an_unpaid_invoice(invoice):
    with pytest.raises(FinanceError, match="reden"):
        invoice_credit(invoice=invoice, reason="  ")
    payment_record_manual(invoice=invoice, amount=Decimal("5.00"), booked_on=TODAY())
    with pytest.raises(FinanceError, match="betaald"):
        invoice_credit(invoice=invoice, reason="fout")
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PARTLY_PAID
    assert not Invoice.objects.filter(kind=Invoice.Kind.CREDIT_NOTE).exists()


def test_credit_and_write_off_refused_while_in_a_debit_batch(invoice):
    from finance.models import CollectionBatch, CollectionItem

    mandate = Mandate.objects.create(
        household=invoice.household,
        reference="WC-TEST-1",
        iban="NL91ABNA0417164300",
        account_holder="J. Berg",
        signed_on=dt.date(2024, 1, 1),
    )
    batch = CollectionBatch.objects.create(
        collection_date=TODAY(), message_id="M1", schema_version="pain.008.001.02"
    )
    CollectionItem.objects.create(
        batch=batch, invoice=invoice, mandate=mandate, amount=invoice.total, end_to_end_id="E1"
    )
    with pytest.raises(FinanceError, match="incasso"):
        invoice_credit(invoice=invoice, reason="fout")
    with pytest.raises(FinanceError, match="incasso"):
        invoice_write_off(invoice=invoice, reason="oninbaar")
    assert invoice.entries.count() == 0


# Write-off and manual payments -----------------------------------------------------------------


def test_write_off_after_a_partial_payment(invoice, treasurer):
    payment_record_manual(
        invoice=invoice, amount=Decimal("10.00"), booked_on=TODAY(), note="contant", by=treasurer
    )
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PARTLY_PAID
    assert invoice_balance(invoice) == Decimal("15.00")
    entry = invoice_write_off(invoice=invoice, reason="Overleden, geen erfgenamen", by=treasurer)
    invoice.refresh_from_db()
    assert entry.kind == LedgerEntry.Kind.WRITE_OFF
    assert entry.amount == Decimal("15.00")
    assert invoice.status == Invoice.Status.WRITTEN_OFF
    assert invoice_balance(invoice) == Decimal("0.00")
    with pytest.raises(FinanceError):
        invoice_write_off(invoice=invoice, reason="nogmaals")
    assert invoice.entries.count() == 2


def test_manual_payment_validation_and_overpayment(invoice):
    for bad in (Decimal("0"), Decimal("-5.00")):
        with pytest.raises(FinanceError, match="meer dan"):
            payment_record_manual(invoice=invoice, amount=bad, booked_on=TODAY())
    with pytest.raises(TypeError):
        payment_record_manual(invoice=invoice, amount=25.0, booked_on=TODAY())  # type: ignore[arg-type]
    with pytest.raises(FinanceError, match="toekomst"):
        payment_record_manual(
            invoice=invoice, amount=Decimal("1.00"), booked_on=TODAY() + dt.timedelta(days=1)
        )
    assert invoice.entries.count() == 0
    first = payment_record_manual(invoice=invoice, amount=Decimal("20.00"), booked_on=TODAY())
    second = payment_record_manual(invoice=invoice, amount=Decimal("10.00"), booked_on=TODAY())
    assert first.source == LedgerEntry.Source.MANUAL and first.external_id != second.external_id
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    assert invoice_balance(invoice) == Decimal("-5.00")


def test_ledger_entries_cannot_be_changed_or_deleted(invoice):
    entry = payment_record_manual(invoice=invoice, amount=Decimal("25.00"), booked_on=TODAY())
    entry.amount = Decimal("1.00")
    with pytest.raises(ValidationError):
        entry.save()
    with pytest.raises(ValidationError):
        entry.delete()
    with pytest.raises(ValidationError):
        LedgerEntry.objects.filter(pk=entry.pk).update(amount=Decimal("1.00"))
    with pytest.raises(ValidationError):
        LedgerEntry.objects.filter(pk=entry.pk).delete()
    assert LedgerEntry.objects.get(pk=entry.pk).amount == Decimal("25.00")


# PDF ---------------------------------------------------------------------------------------------


def test_invoice_pdf(invoice):
    from finance.documents import invoice_pdf

    text = pdf_text(invoice_pdf(invoice))
    assert invoice.number in text
    assert "Jan van der" in text and "Fatima van der" in text
    assert "€ 25,00" in text
    assert "€ 10,00" in text and "€ 7,50" in text
    assert "NL91ABNA0417164300" in text
    assert invoice.street in text


def test_credit_note_pdf_refers_to_the_original(invoice):
    from finance.documents import invoice_pdf

    credit = invoice_credit(invoice=invoice, reason="fout adres")
    text = pdf_text(invoice_pdf(credit))
    assert "Creditnota" in text
    assert credit.number in text and invoice.number in text
    assert "-€ 25,00" in text


def test_pdf_shows_the_address_at_the_time_of_issue(invoice):
    from finance.documents import invoice_pdf

    household = invoice.household
    household.street = "Andere Straat"
    household.save()
    text = pdf_text(invoice_pdf(invoice))
    assert "Dorpsstraat" in text and "Andere Straat" not in text


# Pages and access ------------------------------------------------------------------------------


def treasurer_urls(invoice) -> list[str]:
    return [
        reverse("finance:finance_overview"),
        reverse("finance:scheme_list"),
        reverse("finance:scheme_create"),
        reverse("finance:scheme_edit", args=[invoice.scheme_id]),
        reverse("finance:dues_run", args=[YEAR]),
        reverse("finance:invoice_list"),
        reverse("finance:invoice_export_csv"),
        reverse("finance:invoice_export_xlsx"),
        reverse("finance:ledger_export_csv"),
        reverse("finance:ledger_export_xlsx"),
        reverse("finance:invoice_detail", args=[invoice.pk]),
        reverse("finance:invoice_pdf", args=[invoice.pk]),
        reverse("finance:invoice_credit", args=[invoice.pk]),
        reverse("finance:invoice_write_off", args=[invoice.pk]),
        reverse("finance:invoice_payment_manual", args=[invoice.pk]),
        reverse("finance:household_balance", args=[invoice.household_id]),
        reverse("finance:member_rate", args=[invoice.lines.first().member_id]),
    ]


def test_treasurer_sees_everything(client, invoice, treasurer):
    client.force_login(treasurer)
    for url in treasurer_urls(invoice) + [reverse("finance:dues_status")]:
        response = client.get(url)
        assert response.status_code == 200, url


@pytest.mark.parametrize(
    "name", ["member", "coordinator", "buurtassistent", "volunteer", "outsider"]
)
def test_others_may_not_use_treasurer_pages(client, invoice, name):
    client.force_login(make_persona(name))
    for url in treasurer_urls(invoice):
        assert client.get(url).status_code == 403, url
    assert (
        client.post(
            reverse("finance:invoice_credit", args=[invoice.pk]), {"reason": "x", "confirm": "on"}
        ).status_code
        == 403
    )
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.OPEN


def test_anonymous_is_sent_to_login(client, invoice):
    response = client.get(reverse("finance:invoice_list"))
    assert response.status_code == 302 and "login" in response["Location"]
    response = client.get(reverse("finance:my_invoices"))
    assert response.status_code == 302 and "login" in response["Location"]


def test_member_sees_only_own_invoices(client, scheme, member_user):
    own_household = member_user.member.household
    (other,) = issue(2)  # also invoices the member persona's household
    own = Invoice.objects.get(household=own_household, dues_year=YEAR)
    client.force_login(member_user)
    response = client.get(reverse("finance:my_invoices"))
    content = response.content.decode()
    assert response.status_code == 200
    assert own.number in content and other.number not in content
    assert "€ 10,00" in content
    assert reverse("finance:invoice_pay", args=[own.pk]) in content  # the open invoice can be paid
    payment_record_manual(invoice=own, amount=Decimal("10.00"), booked_on=TODAY())
    content = client.get(reverse("finance:my_invoices")).content.decode()
    assert reverse("finance:invoice_pay", args=[own.pk]) not in content and "Betaald" in content
    pdf = client.get(reverse("finance:my_invoice_pdf", args=[own.pk]))
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert own.number in pdf_text(pdf.content)
    assert client.get(reverse("finance:my_invoice_pdf", args=[other.pk])).status_code == 404
    assert client.get(reverse("finance:my_invoice_pdf", args=[987654])).status_code == 404


def test_member_without_membership_sees_no_invoices(client, invoice):
    from coop.accounts.roles import Role
    from coop.accounts.services import user_grant_roles

    user = make_persona("outsider")
    user_grant_roles(user=user, roles=[Role.MEMBER])
    client.force_login(user)
    response = client.get(reverse("finance:my_invoices"))
    assert response.status_code == 200 and invoice.number not in response.content.decode()
    assert client.get(reverse("finance:my_invoice_pdf", args=[invoice.pk])).status_code == 404


def test_coordinator_sees_paid_or_open_but_no_bank_details(client, scheme, coordinator):
    paid, unpaid = issue(1, 2)
    payment_record_manual(invoice=paid, amount=Decimal("10.00"), booked_on=TODAY())
    Mandate.objects.create(
        household=unpaid.household,
        reference="WC-2025-0001",
        iban="NL02RABO0123456789",
        account_holder="J. van der Berg",
        signed_on=dt.date(2024, 1, 1),
    )
    client.force_login(coordinator)
    response = client.get(reverse("finance:dues_status"), {"year": YEAR})
    content = response.content.decode()
    assert response.status_code == 200
    assert "Betaald" in content and "Open" in content
    assert "NL02RABO0123456789" not in content and "RABO" not in content
    assert "NL91ABNA" not in content
    open_only = client.get(
        reverse("finance:dues_status"), {"year": YEAR, "toon": "open"}
    ).content.decode()
    assert unpaid.household.street in open_only
    assert paid.recipient_name.split()[0] in content
    for bad in (
        {"year": "abc"},
        {"year": "1"},
        {"toon": "x"},
        {"buurt": "-1"},
        {"page": "-3"},
        {"q": "%' OR 1=1"},
    ):
        assert client.get(reverse("finance:dues_status"), bad).status_code == 200, bad
    statuses = household_dues_status(
        [paid.household_id, unpaid.household_id, HouseholdFactory().pk], YEAR
    )
    assert [s.status for s in statuses.values()] == ["paid", "open", "none"]


def test_scheme_pages_validate(client, treasurer):
    client.force_login(treasurer)
    data = {
        "year": "2027",
        "first_member_amount": "-10",
        "further_member_amount": "7,50",
        "reduced_amount": "5",
        "mid_year": "per_month",
        "due_days": "30",
        "description": "Contributie",
    }
    response = client.post(reverse("finance:scheme_create"), data)
    assert response.status_code == 200
    assert "negatief" in response.content.decode()
    for year in ("1800", "abc", "99999999999999999999"):
        response = client.post(
            reverse("finance:scheme_create"), {**data, "first_member_amount": "10", "year": year}
        )
        assert response.status_code == 200
    assert not ContributionScheme.objects.exists()
    response = client.post(
        reverse("finance:scheme_create"), {**data, "first_member_amount": "€ 10,00"}
    )
    assert response.status_code == 302
    scheme = ContributionScheme.objects.get(year=2027)
    assert scheme.first_member_amount == Decimal(
        "10.00"
    ) and scheme.further_member_amount == Decimal("7.50")


def test_editing_a_scheme_after_the_run_changes_nothing(client, invoice, treasurer):
    client.force_login(treasurer)
    url = reverse("finance:scheme_edit", args=[invoice.scheme_id])
    assert "kan niet meer worden gewijzigd" in client.get(url).content.decode()
    response = client.post(
        url,
        {
            "first_member_amount": "50",
            "further_member_amount": "7,50",
            "reduced_amount": "5",
            "mid_year": "full",
            "due_days": "30",
            "description": "x",
        },
        follow=True,
    )
    assert response.status_code == 200
    assert "kan niet meer worden gewijzigd" in response.content.decode()
    assert ContributionScheme.objects.get(pk=invoice.scheme_id).first_member_amount == Decimal(
        "10.00"
    )


def test_dues_run_pages(client, scheme, treasurer):
    household = HouseholdFactory()
    MemberFactory(household=household, given_name="Sientje")
    client.force_login(treasurer)
    url = reverse("finance:dues_run", args=[YEAR])
    preview = client.get(url).content.decode()
    assert "Sientje" in preview and "€ 10,00" in preview
    response = client.post(url, {})  # no confirmation
    assert response.status_code == 200 and not Invoice.objects.exists()
    response = client.post(url, {"confirm": "on"}, follow=True)
    assert response.status_code == 200
    assert "1 factuur gemaakt voor 2025" in response.content.decode()
    assert Invoice.objects.filter(household=household, dues_year=YEAR).count() == 1
    response = client.post(url, {"confirm": "on"}, follow=True)
    assert "Geen nieuwe facturen" in response.content.decode()
    assert Invoice.objects.count() == 1
    for year in (1800, 2099, 99999999999):
        assert client.get(reverse("finance:dues_run", args=[year])).status_code == 302


def test_invoice_actions_through_the_pages(client, invoice, treasurer):
    client.force_login(treasurer)
    pay = reverse("finance:invoice_payment_manual", args=[invoice.pk])
    today = TODAY().isoformat()
    for amount in ("-5", "0", "abc", "0,00", "1e9"):
        response = client.post(pay, {"amount": amount, "booked_on": today})
        assert response.status_code == 200, amount
    response = client.post(pay, {"amount": "5", "booked_on": "2099-01-01"})
    assert response.status_code == 200 and "toekomst" in response.content.decode()
    assert invoice.entries.count() == 0
    payment = {"amount": "30,00", "booked_on": today, "note": "contant"}
    response = client.post(pay, payment)  # more than is open: asks first
    assert response.status_code == 200 and invoice.entries.count() == 0
    response = client.post(pay, {**payment, "confirm_overpayment": "on"}, follow=True)
    assert "te veel betaald" in response.content.decode()
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID

    (other,) = issue(1)
    credit_url = reverse("finance:invoice_credit", args=[other.pk])
    assert client.post(credit_url, {"reason": "dubbel"}).status_code == 200  # not confirmed
    response = client.post(credit_url, {"reason": "dubbel", "confirm": "on"}, follow=True)
    assert "gecrediteerd met creditnota" in response.content.decode()
    other.refresh_from_db()
    assert other.status == Invoice.Status.CREDITED
    response = client.post(
        reverse("finance:invoice_write_off", args=[other.pk]), {"reason": "x", "confirm": "on"}
    )
    assert response.status_code == 200 and "Alleen een open" in response.content.decode()


def test_invoice_list_filters_totals_and_constant_queries(client, scheme, treasurer):
    invoices = issue(1, 2, 3)
    payment_record_manual(invoice=invoices[0], amount=Decimal("10.00"), booked_on=TODAY())
    client.force_login(treasurer)
    url = reverse("finance:invoice_list")
    response = client.get(url, {"status": "open"})
    content = response.content.decode()
    assert invoices[1].number in content and invoices[0].number not in content
    assert "€ 42,50" in content  # 17,50 + 25,00 open
    response = client.get(url, {"q": invoices[2].number})
    assert (
        invoices[2].number in response.content.decode()
        and invoices[1].number not in response.content.decode()
    )
    for bad in (
        {"year": "abc"},
        {"year": "-1"},
        {"page": "xyz"},
        {"page": "999"},
        {"status": "nonsense"},
        {"buurt": "x"},
        {"buurt": "99999999999999999999"},
        {"year": "99999999999999999999"},
    ):
        assert client.get(url, bad).status_code == 200, bad

    def count_queries() -> int:
        with CaptureQueriesContext(connection) as context:
            assert client.get(url).status_code == 200
        return len(context)

    few = count_queries()
    issue(1, 1, 2, 2, 3, 3)
    assert count_queries() == few


def test_exports(client, scheme, treasurer):
    (invoice,) = issue(3)
    payment_record_manual(
        invoice=invoice, amount=Decimal("25.00"), booked_on=TODAY(), note="=HYPERLINK(1)"
    )
    client.force_login(treasurer)
    csv_text = b"".join(client.get(reverse("finance:invoice_export_csv")).streaming_content).decode(
        "utf-8-sig"
    )
    assert invoice.number in csv_text and "25,00" in csv_text and "Betaald" in csv_text
    ledger_csv = b"".join(
        client.get(reverse("finance:ledger_export_csv")).streaming_content
    ).decode("utf-8-sig")
    assert invoice.number in ledger_csv and "'=HYPERLINK(1)" in ledger_csv

    from openpyxl import load_workbook

    response = client.get(reverse("finance:invoice_export_xlsx"), {"status": "paid"})
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[1][0] == invoice.number and rows[1][11] == 25
    response = client.get(reverse("finance:ledger_export_xlsx"), {"status": "open"})
    rows = list(
        load_workbook(io.BytesIO(b"".join(response.streaming_content))).active.iter_rows(
            values_only=True
        )
    )
    assert len(rows) == 1  # only the header: the one entry belongs to a paid invoice


def test_member_rate_page(client, invoice, treasurer):
    member = Member.objects.filter(household=invoice.household).first()
    client.force_login(treasurer)
    url = reverse("finance:member_rate", args=[member.pk])
    response = client.post(url, {"rate": "free", "reason": ""})
    assert response.status_code == 200 and "reden" in response.content.decode()
    response = client.post(url, {"rate": "reduced", "reason": "minima"})
    assert response.status_code == 302
    assert member.dues_rate.rate == "reduced"


def test_a_manual_payment_queues_one_receipt(invoice):
    from coop.core.models import OutboxMessage

    entry = payment_record_manual(invoice=invoice, amount=Decimal("25.00"), booked_on=TODAY())
    assert OutboxMessage.objects.filter(key=f"finance.receipt:{entry.pk}").count() == 1
