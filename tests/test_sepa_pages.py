"""The direct debit, bank statement and reminder pages, as each persona meets them."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from lxml import etree

from finance.models import BankStatement, BankTransaction, CollectionBatch, LedgerEntry, Mandate
from finance.services.pain008 import pain_schema_path
from finance.services.reminders import reminders_send
from finance.services.statements import statement_import

from .conftest import PERSONAS, make_persona
from .factories import MemberFactory
from .sepa_support import FIXTURES, exported_batch, household_with_mandate, make_invoice

TODAY = dt.date(2026, 11, 23)
TREASURER = {"treasurer"}
REGISTER = {"coordinator", "treasurer"}
MEMBER = {"member"}

# url name -> (kwargs builder, personas that get 200). Anonymous goes to the login page, other
# accounts get 403. (The same entries belong in tests/test_access.py's TABLE.)
SEPA_TABLE = {
    "finance:mandate_list": (None, REGISTER),
    "finance:mandate_record_paper": (None, REGISTER),
    "finance:mandate_revoke": (lambda w: {"pk": w["mandate"].pk}, REGISTER),
    "finance:batch_list": (None, TREASURER),
    "finance:batch_detail": (lambda w: {"pk": w["batch"].pk}, TREASURER),
    "finance:batch_download": (lambda w: {"pk": w["batch"].pk}, TREASURER),
    "finance:my_mandate": (None, MEMBER),
    "finance:my_mandate_revoke": (None, MEMBER),
    "finance:statement_import": (None, TREASURER),
    "finance:statement_detail": (lambda w: {"pk": w["statement"].pk}, TREASURER),
    "finance:unmatched_list": (None, TREASURER),
    "finance:reminder_settings": (None, TREASURER),
    "finance:call_list": (None, REGISTER),
}
POST_ONLY = {
    "finance:batch_export": lambda w: {"pk": w["batch"].pk},
    "finance:batch_collected": lambda w: {"pk": w["batch"].pk},
    "finance:transaction_resolve": lambda w: {"pk": w["line"].pk},
    "finance:transaction_ignore": lambda w: {"pk": w["line"].pk},
}


@pytest.fixture(autouse=True)
def _frozen_today(monkeypatch):
    monkeypatch.setattr("django.utils.timezone.localdate", lambda *a, **k: TODAY)


def _world():
    member, mandate = household_with_mandate(1)
    invoice = make_invoice(member.household)
    batch, _ = exported_batch([(invoice, mandate)])
    CollectionBatch.objects.filter(pk=batch.pk).update(xml="<Document/>")
    statement = BankStatement.objects.create(
        file_name="a.xml", file_hash="a" * 64, format="camt053"
    )
    line = BankTransaction.objects.create(
        statement=statement, entry_key="k1", booking_date=TODAY, amount=Decimal("5.00")
    )
    return {"mandate": mandate, "batch": batch, "statement": statement, "line": line}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("url_name", "persona_name"), [(n, p) for n in sorted(SEPA_TABLE) for p in PERSONAS]
)
def test_access(client, url_name, persona_name):
    user = make_persona(persona_name)
    objects = _world()
    builder, allowed = SEPA_TABLE[url_name]
    url = reverse(url_name, kwargs=builder(objects) if builder else None)
    if user is not None:
        client.force_login(user)
    response = client.get(url)
    if persona_name in allowed:
        expected = 302 if url_name == "finance:my_mandate_revoke" else 200  # no mandate: back
        assert response.status_code == expected, f"{persona_name} on {url}"
    elif user is None:
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    else:
        assert response.status_code == 403, f"{persona_name} on {url}"


@pytest.mark.django_db
@pytest.mark.parametrize("url_name", sorted(POST_ONLY))
@pytest.mark.parametrize("persona_name", ["member", "coordinator", "outsider"])
def test_treasurer_actions_are_refused_to_others(client, url_name, persona_name):
    objects = _world()
    client.force_login(make_persona(persona_name))
    response = client.post(reverse(url_name, kwargs=POST_ONLY[url_name](objects)))
    assert response.status_code == 403
    assert CollectionBatch.objects.get().status == CollectionBatch.Status.EXPORTED
    assert BankTransaction.objects.get().status == BankTransaction.Status.UNMATCHED


# The member's own mandate ---------------------------------------------------------------------


@pytest.mark.django_db
def test_member_signs_sees_masked_and_revokes_their_mandate(member_client, member_user):
    url = reverse("finance:my_mandate")
    page = member_client.get(url).content.decode()
    assert "nog geen machtiging" in page and "NL79ZZZ999999990000" in page

    response = member_client.post(
        url, {"account_holder": "J. Jansen", "iban": "NL91ABNA0417164300"}
    )
    assert response.status_code == 200 and "Zet een vinkje" in response.content.decode()
    response = member_client.post(
        url, {"account_holder": "J. Jansen", "iban": "NL92ABNA0417164300", "consent": "on"}
    )
    assert "controlecijfers" in response.content.decode()
    assert not Mandate.objects.exists()

    response = member_client.post(
        url, {"account_holder": "J. Jansen", "iban": "NL91 ABNA 0417 1643 00", "consent": "on"}
    )
    assert response.status_code == 302
    mandate = Mandate.objects.get()
    assert (
        mandate.household == member_user.member.household
        and mandate.signed_by == member_user.member
    )
    page = member_client.get(url).content.decode()
    assert "NL** **** **** **43 00" in page and "NL91ABNA0417164300" not in page

    assert member_client.post(reverse("finance:my_mandate_revoke")).status_code == 302
    mandate.refresh_from_db()
    assert mandate.status == Mandate.Status.REVOKED


@pytest.mark.django_db
def test_member_cannot_revoke_another_households_mandate(member_client):
    _, other = household_with_mandate(5)
    member_client.post(reverse("finance:my_mandate_revoke"))
    other.refresh_from_db()
    assert other.status == Mandate.Status.ACTIVE


# Mandates for coordinators and the treasurer --------------------------------------------------


@pytest.mark.django_db
def test_only_the_treasurer_sees_whole_account_numbers(client, coordinator, treasurer):
    household_with_mandate(7)
    iban = Mandate.objects.get().iban
    client.force_login(coordinator)
    page = client.get(reverse("finance:mandate_list")).content.decode()
    assert iban not in page and iban[-4:-2] in page
    client.force_login(treasurer)
    assert iban in client.get(reverse("finance:mandate_list")).content.decode()


@pytest.mark.django_db
def test_coordinator_records_a_paper_mandate(coordinator_client, coordinator):
    member = MemberFactory()
    url = reverse("finance:mandate_record_paper")
    data = {
        "member_number": member.number,
        "account_holder": "Echtpaar de Vries",
        "iban": "NL91ABNA0417164300",
        "signed_on": "2026-11-02",
        "reference": "PAPIER#1",
    }
    response = coordinator_client.post(url, data)
    assert "accepteert" in response.content.decode() and not Mandate.objects.exists()
    data["reference"] = "PAPIER-1"
    assert coordinator_client.post(url, data).status_code == 302
    mandate = Mandate.objects.get()
    assert (mandate.reference, mandate.via, mandate.created_by) == (
        "PAPIER-1",
        "paper",
        coordinator,
    )
    assert mandate.household == member.household


# Batches --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_treasurer_creates_exports_and_downloads_a_batch(client, treasurer):
    member, _ = household_with_mandate(8)
    make_invoice(member.household)
    client.force_login(treasurer)
    response = client.post(reverse("finance:batch_list"), {"collection_date": "2026-11-30"})
    assert response.status_code == 200 and "14 dagen" in response.content.decode()
    assert not CollectionBatch.objects.exists()
    response = client.post(reverse("finance:batch_list"), {"collection_date": "2026-12-15"})
    batch = CollectionBatch.objects.get()
    assert response["Location"] == reverse("finance:batch_detail", args=[batch.pk])
    assert (
        client.get(reverse("finance:batch_download", args=[batch.pk])).status_code == 404
    )  # not yet

    client.post(reverse("finance:batch_export", args=[batch.pk]))
    batch.refresh_from_db()
    assert batch.status == CollectionBatch.Status.EXPORTED
    download = client.get(reverse("finance:batch_download", args=[batch.pk]))
    assert download["Content-Disposition"].startswith('attachment; filename="incasso-2026-12-15-')
    schema = etree.XMLSchema(etree.parse(str(pain_schema_path(batch.schema_version))))
    assert schema.validate(etree.fromstring(download.content))
    detail = client.get(reverse("finance:batch_detail", args=[batch.pk])).content.decode()
    assert "Incassobestand downloaden" in detail and "Bestand voor de bank maken" not in detail

    response = client.post(reverse("finance:batch_export", args=[batch.pk]), follow=True)
    assert "al geëxporteerd" in response.content.decode()


WARNING = "geen gestructureerde adressen"


@pytest.mark.django_db
def test_batch_page_warns_about_a_file_without_structured_addresses(client, treasurer, settings):
    member, _ = household_with_mandate(9)
    make_invoice(member.household)
    client.force_login(treasurer)
    settings.SEPA_PAIN_VERSION = "pain.008.001.02"
    client.post(reverse("finance:batch_list"), {"collection_date": "2026-12-15"})
    batch = CollectionBatch.objects.get()
    url = reverse("finance:batch_detail", args=[batch.pk])
    assert WARNING in client.get(url).content.decode()
    client.post(reverse("finance:batch_export", args=[batch.pk]))
    # The exported file is .02 for good, whatever the setting says now.
    settings.SEPA_PAIN_VERSION = "pain.008.001.08"
    page = client.get(url).content.decode()
    assert WARNING in page and "pain.008.001.02" in page


@pytest.mark.django_db
def test_batch_page_in_the_default_version_has_no_address_warning(client, treasurer):
    member, _ = household_with_mandate(10)
    make_invoice(member.household)
    client.force_login(treasurer)
    client.post(reverse("finance:batch_list"), {"collection_date": "2026-12-15"})
    batch = CollectionBatch.objects.get()
    client.post(reverse("finance:batch_export", args=[batch.pk]))
    page = client.get(reverse("finance:batch_detail", args=[batch.pk])).content.decode()
    assert WARNING not in page and "pain.008.001.08" in page


# Bank statements ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_treasurer_uploads_a_statement_and_resolves_what_is_left(client, treasurer):
    invoices = [make_invoice(MemberFactory().household, Decimal("10.00")) for _ in range(4)]
    client.force_login(treasurer)
    url = reverse("finance:statement_import")
    with open(FIXTURES / "camt" / "billion-laughs.xml", "rb") as bomb:
        response = client.post(url, {"file": bomb})
    assert response.status_code == 200 and "veiligheid" in response.content.decode()
    assert not BankStatement.objects.exists()

    with open(FIXTURES / "camt" / "transfer.xml", "rb") as upload:
        response = client.post(url, {"file": upload}, follow=True)
    page = response.content.decode()
    assert "1 overboekingen" in page
    invoices[3].refresh_from_db()
    assert invoices[3].status == "paid"

    statement_import(
        file_name="twice.xml",
        content=(FIXTURES / "camt" / "statement-twice.xml").read_bytes(),
        by=None,
    )
    queue = client.get(reverse("finance:unmatched_list")).content.decode()
    assert "gift voor de buurtkamer" in queue and "Kosten betalingsverkeer" in queue
    gift = BankTransaction.objects.get(amount=Decimal("25.00"))
    costs = BankTransaction.objects.get(amount=Decimal("-4.95"))
    prefix = f"t{gift.pk}-"
    response = client.post(
        reverse("finance:transaction_resolve", args=[gift.pk]),
        {prefix + "invoice_number": "2099-000001"},
    )
    gift.refresh_from_db()
    assert gift.status == "unmatched"
    client.post(
        reverse("finance:transaction_resolve", args=[gift.pk]),
        {prefix + "invoice_number": invoices[0].number},
    )
    gift.refresh_from_db()
    assert gift.status == "resolved" and gift.invoice == invoices[0]
    assert LedgerEntry.objects.filter(external_id=gift.entry_key, created_by=treasurer).exists()
    client.post(
        reverse("finance:transaction_ignore", args=[costs.pk]), {f"t{costs.pk}-note": "Bankkosten"}
    )
    costs.refresh_from_db()
    assert (costs.status, costs.note) == ("ignored", "Bankkosten")


# Reminders and the call list ------------------------------------------------------------------


@pytest.mark.django_db
def test_reminder_settings_and_the_call_list_without_bank_details(client, treasurer, coordinator):
    client.force_login(treasurer)
    url = reverse("finance:reminder_settings")
    response = client.post(
        url, {"first_reminder_days": 0, "second_reminder_days": 7, "call_list_days": 7}
    )
    assert response.status_code == 200
    client.post(url, {"first_reminder_days": 10, "second_reminder_days": 7, "call_list_days": 7})
    member, _ = household_with_mandate(9)
    member.phone = "06 12345678"
    member.save()
    invoice = make_invoice(member.household)
    for day in (dt.date(2026, 2, 24), dt.date(2026, 3, 3), dt.date(2026, 3, 10)):
        reminders_send(today=day)
    invoice.refresh_from_db()
    assert invoice.reminder_level == 3
    client.force_login(coordinator)
    page = client.get(reverse("finance:call_list")).content.decode()
    assert member.full_name in page and "06 12345678" in page and invoice.number in page
    assert "€ 17,50" in page
    assert Mandate.objects.get().iban not in page and "IBAN" not in page
