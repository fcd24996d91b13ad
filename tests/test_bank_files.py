"""Bank statement files: one identity per transaction across CAMT.053 and MT940, and the MT940
:86: texts of ING, Rabobank and ABN AMRO.

Fixtures in tests/fixtures/bank/ are written as the banks write them, for the cooperative's account
NL91ABNA0417164300 (SEPA_CREDITOR_IBAN). They hold placeholders that the tests fill in with what
they create (see `_fill`):
  {INV}     an invoice number named in a transfer      {INV2}  a second one
  {E2E}     the EndToEndId of one of our debits        {PMTINF} the batch's PmtInfId/message id
- ing-20261216.xml / ing-20261216.sta: the same day (16-12-2026) as CAMT.053 and as ING MT940:
  a transfer of €5.00 naming {INV}, and bank costs.
- ing-20261216-17.sta: ING MT940 of the 16th again and the 17th (a transfer of €10.00, {INV2}).
- ing-debits.sta: ING MT940 of the 15th (a batch credit /PREF/{PMTINF} of €35.00, a transfer
  with /CNTP/ naming {INV}) and the 18th (an MS03 return of {E2E}, costs).
- rabobank-20261216.sta: Rabobank (IBAN under :61:, /ORDP/ and /BENM/, an MD06 return, plain text).
- abnamro-20261216.sta: ABN AMRO (/TRTP/ … , an MS02 storno, a structured RF reference, costs).
"""

import datetime as dt
from decimal import Decimal

import pytest

from finance.camt_samples import CREDIT, camt_entry, camt_statement, camt_transaction
from finance.models import BankTransaction, CollectionItem, Invoice, LedgerEntry, Mandate
from finance.mt940_samples import ing_details, ing_file, ing_statement, ing_transaction
from finance.services import FinanceError
from finance.services.ledger import invoice_balance
from finance.services.statement_files import iban_normalise, statement_parse
from finance.services.statements import statement_import

from .factories import MemberFactory
from .sepa_support import FIXTURES, exported_batch, household_with_mandate, make_invoice

BANK = FIXTURES / "bank"
SAMPLE = {
    "INV": "2026-000004",
    "INV2": "2026-000005",
    "E2E": "2026-000001-B1",
    "PMTINF": "WKC-20261215-1",
}


def _fill(name: str, values: dict[str, str] = SAMPLE) -> bytes:
    content = (BANK / name).read_bytes()
    for placeholder, value in values.items():
        content = content.replace(b"{%s}" % placeholder.encode(), value.encode())
    assert b"{INV" not in content and b"{E2E}" not in content and b"{PMTINF}" not in content
    return content


def _parse(name: str):
    return statement_parse(_fill(name))


# Reading, per bank --------------------------------------------------------------------------


def test_ing_mt940_reads_cntp_pref_and_the_ms03_return():
    parsed = _parse("ing-debits.sta")
    assert parsed.format == "mt940" and parsed.account_iban == "NL91ABNA0417164300"
    batch, transfer, returned, costs = parsed.lines
    assert batch.amount == Decimal("35.00") and batch.batch_reference == "WKC-20261215-1"
    assert batch.end_to_end_id == "" and batch.remittance == "Incasso 2 posten"
    assert transfer.counterparty_name == "J. Bakker"
    assert transfer.counterparty_iban == "NL20INGB0001234567"
    assert transfer.remittance == "Betaling factuur 2026-000004"
    assert transfer.end_to_end_id == ""  # NOTPROVIDED
    assert returned.amount == Decimal("-17.50") and returned.return_reason == "MS03"
    assert returned.end_to_end_id == "2026-000001-B1"
    assert returned.mandate_reference == "WKC-00001-1"
    assert returned.counterparty_name == "J van der Berg"
    assert returned.counterparty_iban == "NL58ABNA0000000001"
    assert returned.booking_date == dt.date(2026, 12, 18)
    # ING's '/SUM/' :86: after the closing balance is not read into the last line.
    assert costs.remittance == "Kosten storno" and costs.amount == Decimal("-0.25")
    assert [line.entry_key for line in parsed.lines] == [
        "NL91ABNA0417164300:2026-12-15:35.00:00000000003001",
        "NL91ABNA0417164300:2026-12-15:10.00:00000000003002",
        "NL91ABNA0417164300:2026-12-18:-17.50:00000000003101",
        "NL91ABNA0417164300:2026-12-18:-0.25:00000000003102",
    ]


def test_rabobank_mt940_reads_the_account_under_61_ordp_benm_and_plain_text():
    parsed = _parse("rabobank-20261216.sta")
    transfer, returned, gift, costs = parsed.lines
    assert (transfer.counterparty_name, transfer.counterparty_iban) == (
        "J. Bakker",
        "NL20INGB0001234567",
    )
    assert transfer.remittance == "Contributie 2026 factuur 2026-000004"
    assert transfer.end_to_end_id == ""
    assert (returned.counterparty_name, returned.counterparty_iban) == (
        "J van der Berg",
        "NL58ABNA0000000001",
    )
    assert returned.end_to_end_id == "2026-000001-B1" and returned.return_reason == "MD06"
    assert returned.mandate_reference == "WKC-00001-1"
    assert gift.counterparty_iban == "NL18RABO0123459876" and gift.counterparty_name == ""
    assert gift.remittance == "Gift voor de buurttuin van fam. de Vries"
    assert costs.remittance == "Kosten Rabo BasisPakket" and costs.counterparty_iban == ""
    # No bank reference after '//': hashed keys, all different.
    assert all(":h:" in line.entry_key for line in parsed.lines)
    assert len({line.entry_key for line in parsed.lines}) == 4


def test_abn_amro_mt940_reads_trtp_texts_the_storno_and_a_structured_reference():
    parsed = _parse("abnamro-20261216.sta")
    transfer, storno, structured, costs = parsed.lines
    assert (transfer.counterparty_name, transfer.counterparty_iban) == (
        "J. Bakker",
        "NL20INGB0001234567",
    )
    assert transfer.remittance == "Contributie 2026 factuur 2026-000004"
    assert storno.return_reason == "MS02" and storno.end_to_end_id == "2026-000001-B1"
    assert storno.mandate_reference == "WKC-00001-1"
    assert storno.counterparty_name == "J van der Berg"
    assert storno.remittance == "Contributie 2026"  # 'Contrib|utie' cut at 65 characters
    assert structured.remittance == "RF18539007547034"
    assert structured.counterparty_name == "Fam. de Vries"
    assert costs.remittance.startswith("ABN AMRO Bank N.V. BETAALPAKKET")


@pytest.mark.parametrize(
    "written",
    [
        "NL91ABNA0417164300",
        "NL91 ABNA 0417 1643 00",
        "nl91abna0417164300",
        "NL91ABNA0417164300EUR",
        "NL91ABNA0417164300 EUR",
        "ABNANL2A/NL91ABNA0417164300",
        "INGBNL2A/NL91ABNA0417164300EUR",
    ],
)
def test_the_account_is_reduced_to_the_bare_iban(written):
    assert iban_normalise(written) == "NL91ABNA0417164300"


# One identity -------------------------------------------------------------------------------


def test_the_same_day_has_the_same_keys_in_camt_and_mt940():
    camt = _parse("ing-20261216.xml")
    mt940 = _parse("ing-20261216.sta")
    assert (camt.format, mt940.format) == ("camt053", "mt940")
    assert [line.entry_key for line in camt.lines] == [line.entry_key for line in mt940.lines]
    assert camt.lines[0].entry_key == "NL91ABNA0417164300:2026-12-16:5.00:00000000002001"
    for a, b in zip(camt.lines, mt940.lines, strict=True):
        assert (a.amount, a.booking_date, a.counterparty_iban, a.counterparty_name) == (
            b.amount,
            b.booking_date,
            b.counterparty_iban,
            b.counterparty_name,
        )
        assert a.remittance == b.remittance


def test_overlapping_mt940_files_share_the_keys_of_the_common_day():
    one_day = _parse("ing-20261216.sta")
    two_days = _parse("ing-20261216-17.sta")
    keys = [line.entry_key for line in two_days.lines]
    assert keys[:2] == [line.entry_key for line in one_day.lines]
    assert keys[2] == "NL91ABNA0417164300:2026-12-17:10.00:00000000002101"


def _camt_without_reference(text: str, times: int = 1) -> bytes:
    day = dt.date(2026, 12, 20)
    entries = [
        camt_entry(
            "",
            Decimal("7.50"),
            CREDIT,
            day,
            camt_transaction(
                "NOTPROVIDED", Decimal("7.50"), "A. de Wit", "NL20INGB0001234567", text
            ),
        )
        for _ in range(times)
    ]
    return camt_statement(
        statement_id="X", entries=entries, movement=Decimal("7.50") * times, day=day
    )


def _mt940_without_reference(text: str, times: int = 1) -> bytes:
    day = dt.date(2026, 12, 20)
    party = ("NL20 INGB 0001 2345 67", "INGBNL2A", "A. de Wit", "")
    lines = [
        ing_transaction(
            day=day,
            amount=Decimal("7.50"),
            bank_ref="NONREF",
            details=ing_details(eref="NOTPROVIDED", counterparty=party, text=text),
        )
        for _ in range(times)
    ]
    return ing_file(
        [
            ing_statement(
                statement_id="Y", transactions=lines, movement=Decimal("7.50") * times, day=day
            )
        ]
    )


def test_without_a_bank_reference_the_hash_ignores_spacing_and_numbers_identical_lines():
    text = "Contributie 2026 voor het hele gezin van de familie de Wit, Dorpsstraat 14"
    camt = statement_parse(_camt_without_reference(text, times=2))
    # MT940 cuts the text at 65 characters: the same words, other spacing.
    mt940 = statement_parse(_mt940_without_reference(text.replace(" ", "  "), times=2))
    camt_keys = [line.entry_key for line in camt.lines]
    assert camt_keys == [line.entry_key for line in mt940.lines]
    assert camt_keys[0].startswith("NL91ABNA0417164300:h:") and camt_keys[0].endswith(":1")
    assert camt_keys[1].endswith(":2") and camt_keys[0] != camt_keys[1]
    other = statement_parse(_camt_without_reference(text + " en buren"))
    assert other.lines[0].entry_key != camt_keys[0]


def test_ing_mt940_whose_balances_do_not_add_up_is_refused():
    content = _fill("ing-debits.sta").replace(b":62F:C261218EUR1027,25", b":62F:C261218EUR1027,20")
    with pytest.raises(FinanceError, match="saldi"):
        statement_parse(content)


# Importing ----------------------------------------------------------------------------------


@pytest.fixture
def world(db):
    """Invoices 2026-000001/2 (17.50) in exported batch WKC-20261215-1 (EndToEndIds
    2026-00000n-B1); 2026-000003 of 5.00 and 2026-000004/5 of 10.00 to be paid by transfer."""
    debtors = [household_with_mandate(n) for n in (1, 2)]
    debit_invoices = [make_invoice(member.household) for member, _ in debtors]
    five = make_invoice(MemberFactory().household, Decimal("5.00"))
    ten = make_invoice(MemberFactory().household, Decimal("10.00"))
    ten2 = make_invoice(MemberFactory().household, Decimal("10.00"))
    batch, items = exported_batch([(debit_invoices[n], debtors[n][1]) for n in range(2)])
    return {
        "debit_invoices": debit_invoices,
        "five": five,
        "ten": ten,
        "ten2": ten2,
        "batch": batch,
        "items": items,
        "mandates": [mandate for _member, mandate in debtors],
    }


def _booked(invoice: Invoice) -> Decimal:
    return sum(
        LedgerEntry.objects.filter(invoice=invoice).values_list("amount", flat=True),
        Decimal("0.00"),
    )


def _status(invoice: Invoice) -> str:
    invoice.refresh_from_db()
    return invoice.status


@pytest.mark.parametrize(
    "first, second",
    [("ing-20261216.xml", "ing-20261216.sta"), ("ing-20261216.sta", "ing-20261216.xml")],
)
def test_the_same_day_in_both_formats_is_booked_once(world, first, second):
    values = {"INV": world["five"].number}
    result = statement_import(file_name=first, content=_fill(first, values), by=None)
    assert (result.transfers, result.unmatched, result.already_imported) == (1, 1, 0)
    assert _status(world["five"]) == Invoice.Status.PAID and _booked(world["five"]) == Decimal(
        "5.00"
    )
    result = statement_import(file_name=second, content=_fill(second, values), by=None)
    assert result.already_imported == 2
    assert (result.transfers, result.debits, result.returns, result.unmatched) == (0, 0, 0, 0)
    assert LedgerEntry.objects.count() == 1
    assert _booked(world["five"]) == Decimal("5.00")
    assert invoice_balance(world["five"]) == Decimal("0.00")
    assert BankTransaction.objects.count() == 2


def test_overlapping_mt940_files_book_only_the_new_day(world):
    values = {"INV": world["five"].number, "INV2": world["ten2"].number}
    statement_import(file_name="a.xml", content=_fill("ing-20261216.xml", values), by=None)
    result = statement_import(
        file_name="b.sta", content=_fill("ing-20261216-17.sta", values), by=None
    )
    assert (result.already_imported, result.transfers, result.unmatched) == (2, 1, 0)
    assert _booked(world["five"]) == Decimal("5.00")
    assert _booked(world["ten2"]) == Decimal("10.00") and _status(world["ten2"]) == "paid"
    assert LedgerEntry.objects.filter(source=LedgerEntry.Source.TRANSFER).count() == 2
    assert BankTransaction.objects.count() == 3


def test_ing_mt940_batch_credit_transfer_and_ms03_return(world):
    returned_item, kept_item = world["items"]
    returned_invoice, kept_invoice = world["debit_invoices"]
    values = {
        "PMTINF": world["batch"].message_id,
        "E2E": returned_item.end_to_end_id,
        "INV": world["ten"].number,
    }
    result = statement_import(file_name="ing.sta", content=_fill("ing-debits.sta", values), by=None)
    assert (result.debits, result.transfers, result.returns, result.unmatched) == (2, 1, 1, 1)

    # The return: paid by the debit, then reversed, so open again for the whole amount.
    assert _status(returned_invoice) == Invoice.Status.OPEN
    assert invoice_balance(returned_invoice) == returned_invoice.total == Decimal("17.50")
    assert _booked(returned_invoice) == Decimal("0.00")
    entries = LedgerEntry.objects.filter(invoice=returned_invoice).order_by("pk")
    assert [(e.kind, e.amount) for e in entries] == [
        (LedgerEntry.Kind.PAYMENT, Decimal("17.50")),
        (LedgerEntry.Kind.REVERSAL, Decimal("-17.50")),
    ]
    returned_item.refresh_from_db()
    assert returned_item.status == CollectionItem.Status.RETURNED
    assert returned_item.return_reason == "MS03"
    assert Mandate.objects.get(pk=returned_item.mandate_id).status == Mandate.Status.ACTIVE

    # The other debit of the batch total, and the transfer.
    kept_item.refresh_from_db()
    assert kept_item.status == CollectionItem.Status.COLLECTED
    assert _status(kept_invoice) == Invoice.Status.PAID and _booked(kept_invoice) == Decimal(
        "17.50"
    )
    assert _status(world["ten"]) == Invoice.Status.PAID and _booked(world["ten"]) == Decimal(
        "10.00"
    )
    costs = BankTransaction.objects.get(status=BankTransaction.Status.UNMATCHED)
    assert costs.amount == Decimal("-0.25")

    # The same bookings in another file (the CAMT of the same days, here: the file again with
    # other line endings) book nothing more.
    again = _fill("ing-debits.sta", values).replace(b"\n", b"\r\n")
    result = statement_import(file_name="ing-crlf.sta", content=again, by=None)
    assert result.already_imported == 4 and result.lines == 0
    assert _booked(returned_invoice) == Decimal("0.00") and _booked(kept_invoice) == Decimal(
        "17.50"
    )
    assert LedgerEntry.objects.count() == 4


def test_rabobank_mt940_books_the_transfer_and_the_return(world):
    returned_item = world["items"][0]
    values = {"E2E": returned_item.end_to_end_id, "INV": world["ten"].number}
    result = statement_import(
        file_name="rabo.sta", content=_fill("rabobank-20261216.sta", values), by=None
    )
    assert (result.transfers, result.returns, result.unmatched) == (1, 1, 2)
    assert _status(world["ten"]) == Invoice.Status.PAID and _booked(world["ten"]) == Decimal(
        "10.00"
    )
    invoice = world["debit_invoices"][0]
    assert _status(invoice) == Invoice.Status.OPEN and invoice_balance(invoice) == invoice.total
    returned_item.refresh_from_db()
    assert (returned_item.status, returned_item.return_reason) == ("returned", "MD06")
    gift = BankTransaction.objects.get(amount=Decimal("25.00"))
    assert gift.counterparty_iban == "NL18RABO0123459876" and gift.status == "unmatched"


def test_abn_amro_mt940_books_the_transfer_and_the_storno(world):
    returned_item = world["items"][1]
    values = {"E2E": returned_item.end_to_end_id, "INV": world["ten"].number}
    result = statement_import(
        file_name="abn.sta", content=_fill("abnamro-20261216.sta", values), by=None
    )
    assert (result.transfers, result.returns, result.unmatched) == (1, 1, 2)
    assert _booked(world["ten"]) == Decimal("10.00")
    invoice = world["debit_invoices"][1]
    assert _status(invoice) == Invoice.Status.OPEN and invoice_balance(invoice) == invoice.total
    returned_item.refresh_from_db()
    assert (returned_item.status, returned_item.return_reason) == ("returned", "MS02")
    transfer = BankTransaction.objects.get(invoice=world["ten"])
    assert transfer.counterparty_name == "J. Bakker"


# The data migration -------------------------------------------------------------------------


def test_the_migration_rewrites_old_keys_with_a_reference_and_leaves_hashed_ones(world):
    import importlib

    from django.apps import apps

    from finance.models import BankStatement

    migration = importlib.import_module("finance.migrations.0006_bank_transaction_identity")
    statement = BankStatement.objects.create(
        file_name="old.sta", file_hash="x" * 64, format="mt940", account_iban="NL91ABNA0417164300"
    )
    day = dt.date(2026, 12, 16)
    old = {
        "NL91ABNA0417164300:00000000002001": Decimal("5.00"),
        "NL91ABNA0417164300EUR:20261215-DD-0001:2026-000001-B1": Decimal("17.50"),
        "NL91ABNA0417164300:20261215KO01#2": Decimal("-2.50"),
        "NL91ABNA0417164300:h:abcdef:1": Decimal("12.00"),
        "h:" + "0" * 64: Decimal("1.00"),
    }
    for key, amount in old.items():
        BankTransaction.objects.create(
            statement=statement, entry_key=key, booking_date=day, amount=amount
        )
    migration.rewrite_keys(apps, None)
    assert set(BankTransaction.objects.values_list("entry_key", flat=True)) == {
        "NL91ABNA0417164300:2026-12-16:5.00:00000000002001",
        "NL91ABNA0417164300:2026-12-16:17.50:20261215-DD-0001:2026-000001-B1",
        "NL91ABNA0417164300:2026-12-16:-2.50:20261215KO01#2",
        "NL91ABNA0417164300:h:abcdef:1",
        "h:" + "0" * 64,
    }
    # A statement with the same transaction now finds it: nothing is booked again.
    values = {"INV": world["five"].number}
    result = statement_import(
        file_name="new.sta", content=_fill("ing-20261216.sta", values), by=None
    )
    assert (result.already_imported, result.transfers, result.unmatched) == (1, 0, 1)
    assert not LedgerEntry.objects.exists()
