"""SEPA direct debit: mandates, the creditor identifier, batches and the pain.008 file."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.checks import Error
from django.urls import reverse
from lxml import etree

from coop.core.models import OutboxMessage
from coop.core.services import outbox_mark_printed
from finance.checks import check_sepa_settings
from finance.models import CollectionBatch, CollectionItem, Invoice, LedgerEntry, Mandate
from finance.services import FinanceError
from finance.services.collections import Collected, batch_mark_collected, debits_book_collected
from finance.services.identifiers import creditor_id_errors, iban_masked, mandate_reference_validate
from finance.services.ledger import invoice_balance, ledger_book
from finance.services.mandates import (
    mandate_record_paper,
    mandate_revoke,
    mandate_sign,
    mandates_expire_unused,
)
from finance.services.pain008 import (
    DEFAULT_PAIN_VERSION,
    SUPPORTED_PAIN_VERSIONS,
    UNSTRUCTURED_ADDRESS_VERSIONS,
    pain_schema_path,
    sepa_text,
)
from finance.services.sepa import (
    batch_create,
    batch_export,
    collection_date_earliest,
    is_business_day,
)
from members.models import Member

from .factories import MemberFactory
from .sepa_support import household_with_mandate, iban_for, make_invoice

TODAY = dt.date(2026, 11, 23)  # a Monday
COLLECTION = dt.date(2026, 12, 15)  # a Tuesday, 22 days later

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _frozen_today(monkeypatch):
    monkeypatch.setattr("django.utils.timezone.localdate", lambda *a, **k: TODAY)


def _validate_independently(xml: bytes, version: str) -> etree._Element:
    """Validate against sepaxml's XSD with lxml, separately from the service's own check."""
    schema = etree.XMLSchema(etree.parse(str(pain_schema_path(version))))
    document = etree.fromstring(xml, etree.XMLParser(resolve_entities=False, no_network=True))
    assert schema.validate(document), schema.error_log
    return document


# Mandates -----------------------------------------------------------------------------------


def test_iban_with_wrong_check_digits_is_refused_with_a_clear_error():
    member = MemberFactory()
    with pytest.raises(FinanceError, match="controlecijfers"):
        mandate_sign(
            household=member.household,
            signed_by=member,
            account_holder=member.full_name,
            iban="NL92ABNA0417164300",  # NL91… is right
            consent=True,
            by=None,
        )
    assert not Mandate.objects.exists()


@pytest.mark.parametrize(
    ("iban", "message"),
    [
        ("NL91ABNA04171643", "aantal tekens"),
        ("", "rekeningnummer"),
        ("XX91ABNA0417164300", "landcode"),
    ],
)
def test_other_bad_ibans_are_explained(iban, message):
    member = MemberFactory()
    with pytest.raises(FinanceError, match=message):
        mandate_sign(
            household=member.household,
            signed_by=member,
            account_holder="J. de Vries",
            iban=iban,
            consent=True,
            by=None,
        )


def test_signing_in_the_portal_needs_explicit_consent():
    member = MemberFactory()
    with pytest.raises(FinanceError, match="toestemming"):
        mandate_sign(
            household=member.household,
            signed_by=member,
            account_holder=member.full_name,
            iban="NL91ABNA0417164300",
            consent=False,
            by=None,
        )
    assert not Mandate.objects.exists()


def test_portal_mandate_is_normalised_and_gets_a_reference_and_bic():
    member = MemberFactory()
    mandate = mandate_sign(
        household=member.household,
        signed_by=member,
        account_holder="  J.  van der Berg ",
        iban="nl91 abna 0417 1643 00",
        consent=True,
        by=None,
    )
    assert mandate.iban == "NL91ABNA0417164300"
    assert mandate.bic == "ABNANL2A"
    assert mandate.account_holder == "J. van der Berg"
    assert mandate.reference == f"WKC-{member.number}-1"
    assert mandate.signed_on == TODAY
    assert mandate.via == Mandate.Via.PORTAL
    assert iban_masked(mandate.iban) == "NL** **** **** **43 00"


def test_a_new_mandate_revokes_the_old_one():
    member = MemberFactory()
    first = mandate_sign(
        household=member.household,
        signed_by=member,
        account_holder="A",
        iban=iban_for(1),
        consent=True,
        by=None,
    )
    second = mandate_sign(
        household=member.household,
        signed_by=member,
        account_holder="A",
        iban=iban_for(2),
        consent=True,
        by=None,
    )
    first.refresh_from_db()
    assert first.status == Mandate.Status.REVOKED and first.revoked_on == TODAY
    assert second.status == Mandate.Status.ACTIVE
    assert second.reference == f"WKC-{member.number}-2"
    assert member.household.mandates.filter(status=Mandate.Status.ACTIVE).count() == 1


def test_only_a_member_of_the_household_can_sign():
    member, stranger = MemberFactory(), MemberFactory()
    with pytest.raises(FinanceError, match="huishouden"):
        mandate_sign(
            household=member.household,
            signed_by=stranger,
            account_holder="X",
            iban=iban_for(3),
            consent=True,
            by=None,
        )


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        ("WKC_12#1", "accepteert: # _"),
        ("Machtiging-ë", "ë"),
        ("A" * 36, "35 tekens"),
        ("/WKC-1", "/"),
        ("WKC//1", "//"),
    ],
)
def test_paper_mandate_reference_with_forbidden_characters_is_refused(reference, message):
    member = MemberFactory()
    with pytest.raises(FinanceError, match=message):
        mandate_record_paper(
            household=member.household,
            account_holder=member.full_name,
            iban=iban_for(4),
            signed_on=dt.date(2026, 3, 1),
            reference=reference,
            by=None,
        )
    assert not Mandate.objects.exists()


def test_paper_mandate_keeps_its_reference_and_date():
    member = MemberFactory()
    mandate = mandate_record_paper(
        household=member.household,
        account_holder=member.full_name,
        iban=iban_for(5),
        bic="abnanl2a",
        signed_on=dt.date(2025, 6, 1),
        reference="PAPIER 2025/17 (oud)",
        by=None,
    )
    assert mandate.reference == "PAPIER 2025/17 (oud)"
    assert mandate.signed_on == dt.date(2025, 6, 1)
    assert mandate.bic == "ABNANL2A"
    assert mandate.via == Mandate.Via.PAPER
    assert mandate_reference_validate("WKC-1:2?3/4+(5),6.7 8") == "WKC-1:2?3/4+(5),6.7 8"
    with pytest.raises(FinanceError, match="al een machtiging"):
        other = MemberFactory()
        mandate_record_paper(
            household=other.household,
            account_holder="X",
            iban=iban_for(6),
            signed_on=dt.date(2025, 6, 1),
            reference="PAPIER 2025/17 (oud)",
            by=None,
        )


def test_paper_mandate_cannot_be_signed_in_the_future():
    member = MemberFactory()
    with pytest.raises(FinanceError, match="toekomst"):
        mandate_record_paper(
            household=member.household,
            account_holder="X",
            iban=iban_for(7),
            signed_on=TODAY + dt.timedelta(days=1),
            by=None,
        )


def test_revoke_and_expiry_after_36_months_unused():
    _, fresh = household_with_mandate(10, signed_on=dt.date(2024, 1, 1))
    _, stale = household_with_mandate(11)
    _, used = household_with_mandate(12)
    Mandate.objects.filter(pk__in=[stale.pk, used.pk]).update(signed_on=dt.date(2023, 11, 1))
    Mandate.objects.filter(pk=used.pk).update(last_used_on=dt.date(2025, 12, 1))
    assert mandates_expire_unused(today=TODAY) == 1
    assert mandates_expire_unused(today=TODAY) == 0
    statuses = dict(Mandate.objects.values_list("pk", "status"))
    assert statuses == {fresh.pk: "active", stale.pk: "expired", used.pk: "active"}
    mandate_revoke(mandate=fresh, by=None)
    fresh.refresh_from_db()
    assert fresh.status == Mandate.Status.REVOKED
    with pytest.raises(FinanceError):
        mandate_revoke(mandate=fresh, by=None)


# The creditor identifier --------------------------------------------------------------------


@pytest.mark.parametrize(
    "creditor_id", ["NL79ZZZ999999990000", "DE98ZZZ09999999999", "nl79zzz999999990000"]
)
def test_valid_creditor_ids(creditor_id):
    assert creditor_id_errors(creditor_id) == []


@pytest.mark.parametrize(
    ("creditor_id", "message"),
    [
        ("NL98ZZZ999999990000", "controlecijfers"),  # right form, wrong check digits
        ("NL79ZZZ99999999", "KvK"),  # KvK number cut short
        ("NL79ZZZ999999991234", "0000"),
        ("79NLZZZ999999990000", "vorm"),
        ("", "vorm"),
    ],
)
def test_invalid_creditor_ids(creditor_id, message):
    errors = creditor_id_errors(creditor_id)
    assert errors and message in " ".join(str(e) for e in errors)


def test_system_check_errors_on_a_malformed_creditor_id(settings):
    settings.SEPA_CREDITOR_ID = "NL79ZZZ999999990000"
    assert check_sepa_settings() == []
    settings.SEPA_CREDITOR_ID = "NL12ZZZ999999990000"
    problems = check_sepa_settings()
    assert [p.id for p in problems] == ["finance.E001"] and isinstance(problems[0], Error)
    settings.SEPA_CREDITOR_ID = "NL79ZZZ999999990000"
    settings.SEPA_PAIN_VERSION = "pain.008.003.02"
    assert [p.id for p in check_sepa_settings()] == ["finance.E002"]


# Batches ------------------------------------------------------------------------------------


def test_collection_date_must_leave_time_for_the_pre_notification():
    member, _ = household_with_mandate(20)
    make_invoice(member.household)
    with pytest.raises(FinanceError, match="14 dagen"):
        batch_create(collection_date=TODAY + dt.timedelta(days=13), by=None)
    with pytest.raises(FinanceError, match="werken de banken niet"):
        batch_create(collection_date=dt.date(2026, 12, 26), by=None)  # Boxing Day, a Saturday
    with pytest.raises(FinanceError, match="werken de banken niet"):
        batch_create(collection_date=dt.date(2026, 12, 25), by=None)  # Christmas, a Friday
    assert not CollectionBatch.objects.exists()
    earliest = collection_date_earliest(TODAY)
    assert earliest == dt.date(2026, 12, 7) and is_business_day(earliest)
    assert batch_create(collection_date=earliest, by=None).count == 1


def test_target2_closing_days():
    assert not is_business_day(dt.date(2027, 3, 26))  # Good Friday 2027
    assert not is_business_day(dt.date(2027, 3, 29))  # Easter Monday 2027
    assert not is_business_day(dt.date(2027, 5, 1)) and not is_business_day(dt.date(2027, 1, 1))
    assert is_business_day(dt.date(2027, 3, 30))


def test_batch_takes_open_balances_of_households_with_an_active_mandate(
    django_capture_on_commit_callbacks,
):
    with_mandate, _ = household_with_mandate(30)
    letter_member, _ = household_with_mandate(31, email="")
    partly, _ = household_with_mandate(32)
    paid, _ = household_with_mandate(33)
    no_mandate = MemberFactory()
    revoked, revoked_mandate = household_with_mandate(34)
    mandate_revoke(mandate=revoked_mandate, by=None)
    open_invoice = make_invoice(with_mandate.household)
    letter_invoice = make_invoice(letter_member.household)
    partly_invoice = make_invoice(partly.household)
    ledger_book(
        invoice=partly_invoice,
        kind="payment",
        source="manual",
        external_id="m1",
        amount=Decimal("5.00"),
    )
    paid_invoice = make_invoice(paid.household)
    ledger_book(
        invoice=paid_invoice,
        kind="payment",
        source="manual",
        external_id="m2",
        amount=Decimal("17.50"),
    )
    make_invoice(no_mandate.household)
    make_invoice(revoked.household)

    with django_capture_on_commit_callbacks(execute=True):
        batch = batch_create(collection_date=COLLECTION, by=None)

    items = {item.invoice_id: item for item in batch.items.all()}
    assert set(items) == {open_invoice.pk, letter_invoice.pk, partly_invoice.pk}
    assert items[partly_invoice.pk].amount == Decimal("12.50")
    assert batch.count == 3 and batch.total == Decimal("47.50")
    assert batch.message_id == f"WKC-20261215-{batch.pk}"
    for item in items.values():
        assert item.sequence_type == "RCUR"
        assert item.end_to_end_id == f"{item.invoice.number}-B{batch.pk}"
        assert len(item.end_to_end_id) <= 35
    # Every debit got its pre-notification: an e-mail, or a letter for the member without e-mail.
    notices = {m.key: m for m in OutboxMessage.objects.filter(key__startswith="finance.prenotice:")}
    assert set(notices) == {f"finance.prenotice:{item.pk}" for item in items.values()}
    notice = notices[f"finance.prenotice:{items[open_invoice.pk].pk}"]
    assert notice.channel == OutboxMessage.Channel.EMAIL and notice.to_email == with_mandate.email
    assert "€ 17,50" in notice.body_text and "15 december 2026" in notice.body_text
    assert items[open_invoice.pk].mandate.reference in notice.body_text
    assert "NL79ZZZ999999990000" in notice.body_text
    letter = notices[f"finance.prenotice:{items[letter_invoice.pk].pk}"]
    assert letter.channel == OutboxMessage.Channel.LETTER and "Dorpsstraat" in letter.to_address
    # Invoices already in a pending debit are not taken again.
    with pytest.raises(FinanceError, match="geen openstaande facturen"):
        batch_create(collection_date=COLLECTION, by=None)


def _batch_of(n: int, **member_kwargs):
    invoices = []
    for i in range(n):
        member, _ = household_with_mandate(100 + i, **member_kwargs)
        invoices.append(make_invoice(member.household))
    return batch_create(collection_date=COLLECTION, by=None), invoices


@pytest.mark.parametrize("version", SUPPORTED_PAIN_VERSIONS)
def test_every_exported_pain008_validates_against_its_xsd(settings, version):
    settings.SEPA_PAIN_VERSION = version
    batch, invoices = _batch_of(3)
    xml = batch_export(batch=batch, by=None)
    document = _validate_independently(xml, version)
    ns = {"p": f"urn:iso:std:iso:20022:tech:xsd:{version}"}
    assert (
        document.findtext("p:CstmrDrctDbtInitn/p:GrpHdr/p:MsgId", namespaces=ns) == batch.message_id
    )
    assert document.findtext("p:CstmrDrctDbtInitn/p:GrpHdr/p:NbOfTxs", namespaces=ns) == "3"
    assert document.findtext("p:CstmrDrctDbtInitn/p:GrpHdr/p:CtrlSum", namespaces=ns) == "52.50"
    assert document.findtext(".//p:PmtTpInf/p:SeqTp", namespaces=ns) == "RCUR"
    assert document.findtext(".//p:ReqdColltnDt", namespaces=ns) in ("2026-12-15",)
    creditor = document.findtext(".//p:CdtrSchmeId/p:Id/p:PrvtId/p:Othr/p:Id", namespaces=ns)
    assert creditor == "NL79ZZZ999999990000"
    e2e = sorted(document.xpath("//p:EndToEndId/text()", namespaces=ns))
    assert e2e == sorted(f"{invoice.number}-B{batch.pk}" for invoice in invoices)
    address = document.find(".//p:Dbtr/p:PstlAdr", namespaces=ns)
    if version == "pain.008.001.02":
        # The EPC guidelines for .02 allow country and two address lines only.
        assert [el.tag.split("}")[1] for el in address] == ["Ctry", "AdrLine", "AdrLine"]
        assert address[2].text == "7911 AB Hollandscheveld"
    else:
        assert address.findtext("p:StrtNm", namespaces=ns) == "Dorpsstraat"
        assert address.findtext("p:PstCd", namespaces=ns) == "7911 AB"
        assert address.findtext("p:TwnNm", namespaces=ns) == "Hollandscheveld"
        assert address.findtext("p:Ctry", namespaces=ns) == "NL"
    batch.refresh_from_db()
    assert batch.xml.encode() == xml and batch.schema_version == version


def test_export_locks_the_batch_and_records_the_use_of_mandates():
    batch, invoices = _batch_of(2)
    batch_export(batch=batch, by=None)
    batch.refresh_from_db()
    assert batch.status == CollectionBatch.Status.EXPORTED and batch.exported_at is not None
    assert set(Mandate.objects.values_list("last_used_on", flat=True)) == {COLLECTION}
    assert set(batch.items.values_list("status", flat=True)) == {CollectionItem.Status.PENDING}
    with pytest.raises(FinanceError, match="al geëxporteerd"):
        batch_export(batch=batch, by=None)
    # A revoked mandate no longer touches the exported batch: the bank has the file.
    mandate_revoke(mandate=batch.items.first().mandate, by=None)
    assert batch.items.count() == 2


def test_export_leaves_out_what_was_paid_meanwhile_and_lowers_partly_paid():
    batch, (paid, partly, untouched) = _batch_of(3)
    ledger_book(
        invoice=paid, kind="payment", source="ideal", external_id="tr_1", amount=Decimal("17.50")
    )
    ledger_book(
        invoice=partly, kind="payment", source="ideal", external_id="tr_2", amount=Decimal("7.50")
    )
    xml = batch_export(batch=batch, by=None)
    _validate_independently(xml, batch.schema_version)
    amounts = dict(batch.items.values_list("invoice_id", "amount"))
    assert amounts == {partly.pk: Decimal("10.00"), untouched.pk: Decimal("17.50")}
    batch.refresh_from_db()
    assert batch.count == 2 and batch.total == Decimal("27.50")
    assert paid.number not in xml.decode()


def test_a_file_that_does_not_validate_raises_and_stores_nothing(settings):
    batch, _ = _batch_of(1)
    settings.SEPA_CREDITOR_BIC = "NOT A BIC"
    with pytest.raises(FinanceError, match="voldoet niet"):
        batch_export(batch=batch, by=None)
    batch.refresh_from_db()
    assert (
        batch.status == CollectionBatch.Status.DRAFT
        and batch.xml == ""
        and batch.exported_at is None
    )
    assert not Mandate.objects.filter(last_used_on__isnull=False).exists()


def test_names_are_reduced_to_the_sepa_character_set():
    assert sepa_text("Ösel & Zoon – Ĳsselmeer", 70) == "Osel en Zoon - IJsselmeer"
    member = MemberFactory(given_name="Zoë", family_name="Çelik")
    mandate_sign(
        household=member.household,
        signed_by=member,
        account_holder="Zoë Çelik & Søn",
        iban=iban_for(40),
        consent=True,
        by=None,
    )
    make_invoice(member.household)
    xml = batch_export(batch=batch_create(collection_date=COLLECTION, by=None), by=None)
    assert b"<Nm>Zoe Celik en Son</Nm>" in xml


def test_an_ampersand_in_a_debtor_name_becomes_en_so_no_word_is_lost():
    member, _ = household_with_mandate(41, account_holder="R. Veenstra & Zn")
    make_invoice(member.household)
    xml = batch_export(batch=batch_create(collection_date=COLLECTION, by=None), by=None)
    assert b"<Nm>R. Veenstra en Zn</Nm>" in xml
    assert sepa_text("A&B", 70) == "A en B"


def test_the_default_pain_version_carries_structured_addresses():
    from django.conf import settings as live

    assert DEFAULT_PAIN_VERSION == "pain.008.001.08"
    assert DEFAULT_PAIN_VERSION not in UNSTRUCTURED_ADDRESS_VERSIONS
    # The test run sets no SEPA_PAIN_VERSION, so this is the default the settings read.
    assert live.SEPA_PAIN_VERSION == DEFAULT_PAIN_VERSION
    batch, (invoice,) = _batch_of(1)
    xml = batch_export(batch=batch, by=None)
    document = _validate_independently(xml, DEFAULT_PAIN_VERSION)
    ns = {"p": f"urn:iso:std:iso:20022:tech:xsd:{DEFAULT_PAIN_VERSION}"}
    address = document.find(".//p:Dbtr/p:PstlAdr", namespaces=ns)
    assert address.findtext("p:BldgNb", namespaces=ns) == str(invoice.household.house_number)
    assert address.find("p:AdrLine", namespaces=ns) is None


def test_revoking_a_mandate_takes_its_debit_out_of_a_draft_batch():
    batch, invoices = _batch_of(2)
    mandate_revoke(mandate=batch.items.get(invoice=invoices[0]).mandate, by=None)
    batch.refresh_from_db()
    assert list(batch.items.values_list("invoice_id", flat=True)) == [invoices[1].pk]
    assert batch.count == 1 and batch.total == Decimal("17.50")


def test_mark_collected_books_each_debit_once(monkeypatch):
    batch, invoices = _batch_of(2)
    with pytest.raises(FinanceError, match="Exporteer"):
        batch_mark_collected(batch=batch, by=None)
    batch_export(batch=batch, by=None)
    with pytest.raises(FinanceError, match="nog niet bereikt"):
        batch_mark_collected(batch=batch, by=None)
    assert batch_mark_collected(batch=batch, by=None, today=COLLECTION) == 2
    for invoice in invoices:
        invoice.refresh_from_db()
        assert invoice.status == Invoice.Status.PAID and invoice_balance(invoice) == 0
    entries = LedgerEntry.objects.filter(source="sepa")
    assert sorted(entries.values_list("external_id", flat=True)) == sorted(
        batch.items.values_list("end_to_end_id", flat=True)
    )
    assert set(batch.items.values_list("status", flat=True)) == {CollectionItem.Status.COLLECTED}
    with pytest.raises(FinanceError, match="al als geïncasseerd"):
        batch_mark_collected(batch=batch, by=None, today=COLLECTION)
    assert entries.count() == 2


def test_a_batch_marked_collected_sends_a_receipt_for_every_payment(
    django_capture_on_commit_callbacks,
):
    batch, invoices = _batch_of(2)
    batch_export(batch=batch, by=None)
    with django_capture_on_commit_callbacks(execute=True):
        batch_mark_collected(batch=batch, by=None, today=COLLECTION)
    entries = LedgerEntry.objects.filter(source="sepa").order_by("pk")
    receipts = OutboxMessage.objects.filter(key__startswith="finance.receipt:")
    assert sorted(receipts.values_list("key", flat=True)) == sorted(
        f"finance.receipt:{entry.pk}" for entry in entries
    )
    bodies = list(receipts.values_list("body_text", flat=True))
    assert all(any(invoice.number in body for body in bodies) for invoice in invoices)
    # The statement for the same debits, imported afterwards, books and sends nothing more.
    with django_capture_on_commit_callbacks(execute=True):
        debits_book_collected(
            debits=[
                Collected(
                    item_id=item.pk,
                    invoice_id=item.invoice_id,
                    end_to_end_id=item.end_to_end_id,
                    batch_message_id=batch.message_id,
                    amount=item.amount,
                    booked_on=COLLECTION,
                )
                for item in batch.items.all()
            ],
            by=None,
        )
    assert entries.count() == 2 and receipts.count() == 2


def test_members_who_want_letters_get_the_notice_on_paper():
    member, _ = household_with_mandate(50)
    Member.objects.filter(pk=member.pk).update(contact_preference=Member.ContactPreference.LETTER)
    make_invoice(member.household)
    batch = batch_create(collection_date=COLLECTION, by=None)
    # Export queues what the task has not queued yet, and waits for the letter to be printed.
    with pytest.raises(FinanceError, match="nog niet geprint"):
        batch_export(batch=batch, by=None)
    message = OutboxMessage.objects.get(key=f"finance.prenotice:{batch.items.get().pk}")
    assert message.channel == OutboxMessage.Channel.LETTER
    assert message.status == OutboxMessage.Status.PENDING
    outbox_mark_printed(message_ids=[message.pk])  # printed today, 22 days before the date
    batch_export(batch=batch, by=None)
    batch.refresh_from_db()
    assert batch.status == CollectionBatch.Status.EXPORTED


def test_url_names_exist():
    assert reverse("finance:mandate_list")
    assert reverse("finance:batch_list")
