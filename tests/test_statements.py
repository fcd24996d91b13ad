"""Bank statements: safe reading, booking once, matching debits, returns and transfers."""

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import connection

from coop.core.models import OutboxMessage
from finance.models import (
    BankStatement,
    BankTransaction,
    CollectionBatch,
    CollectionItem,
    Invoice,
    LedgerEntry,
    Mandate,
)
from finance.services import FinanceError
from finance.services.bank_links import transaction_ignore, transaction_resolve
from finance.services.collections import batch_mark_collected
from finance.services.ledger import invoice_balance
from finance.services.statements import collection_returns_notify, statement_import

from .factories import MemberFactory
from .sepa_support import FIXTURES, exported_batch, household_with_mandate, make_invoice

CAMT = FIXTURES / "camt"


def _read(name: str) -> bytes:
    return (CAMT / name).read_bytes()


def _import(name: str, **kwargs):
    return statement_import(file_name=name, content=_read(name), by=None, **kwargs)


@pytest.fixture
def world(db):
    """Invoices 2026-000001..3 in batch WKC-20261215-1 (EndToEndIds 2026-00000n-B1); invoices
    2026-000004..6 of households without a mandate, to be paid by transfer."""
    debtors = [household_with_mandate(n) for n in (1, 2, 3)]
    invoices = [make_invoice(member.household) for member, _ in debtors]
    transfer_members = [MemberFactory() for _ in range(3)]
    invoices.append(make_invoice(transfer_members[0].household, Decimal("10.00")))
    invoices.append(make_invoice(transfer_members[1].household))
    invoices.append(make_invoice(transfer_members[2].household, Decimal("10.00")))
    assert [i.number for i in invoices] == [f"2026-00000{n}" for n in range(1, 7)]
    batch, items = exported_batch([(invoices[n], debtors[n][1]) for n in range(3)])
    return {"invoices": invoices, "batch": batch, "items": items, "debtors": debtors}


def _status(invoice: Invoice) -> str:
    invoice.refresh_from_db()
    return invoice.status


def _nothing_booked():
    assert not BankStatement.objects.exists()
    assert not BankTransaction.objects.exists()
    assert not LedgerEntry.objects.exists()


# Direct debits --------------------------------------------------------------------------------


def test_debit_batch_books_each_transaction_by_end_to_end_id(world):
    result = _import("debit-batch.xml")
    assert (result.debits, result.transfers, result.returns, result.unmatched) == (3, 0, 0, 0)
    for invoice in world["invoices"][:3]:
        assert _status(invoice) == Invoice.Status.PAID
    entries = LedgerEntry.objects.filter(
        source=LedgerEntry.Source.SEPA, kind=LedgerEntry.Kind.PAYMENT
    )
    assert sorted(entries.values_list("external_id", flat=True)) == [
        "2026-000001-B1",
        "2026-000002-B1",
        "2026-000003-B1",
    ]
    assert set(entries.values_list("booked_on", flat=True)) == {dt.date(2026, 12, 15)}
    assert set(CollectionItem.objects.values_list("status", flat=True)) == {
        CollectionItem.Status.COLLECTED
    }
    lines = BankTransaction.objects.order_by("entry_key")
    assert [line.entry_key for line in lines] == [
        "NL91ABNA0417164300:2026-12-15:17.50:20261215-DD-0001:2026-000001-B1",
        "NL91ABNA0417164300:2026-12-15:17.50:20261215-DD-0001:2026-000002-B1",
        "NL91ABNA0417164300:2026-12-15:17.50:20261215-DD-0001:2026-000003-B1",
    ]
    assert {line.status for line in lines} == {BankTransaction.Status.MATCHED}
    assert lines[0].counterparty_iban == "NL58ABNA0000000001" and lines[0].amount == Decimal(
        "17.50"
    )
    statement = result.statement
    assert statement.format == "camt053" and statement.account_iban == "NL91ABNA0417164300"
    assert statement.statement_id == "NL91ABNA0417164300-20261215"


def test_the_import_marks_the_batch_collected_and_marking_it_again_books_nothing(world):
    _import("debit-batch.xml")
    world["batch"].refresh_from_db()
    assert world["batch"].status == CollectionBatch.Status.COLLECTED
    with pytest.raises(FinanceError, match="al als geïncasseerd"):
        batch_mark_collected(batch=world["batch"], by=None, today=dt.date(2026, 12, 16))
    assert LedgerEntry.objects.count() == 3


def test_the_same_file_twice_books_nothing_the_second_time(world):
    _import("debit-batch.xml")
    with pytest.raises(FinanceError, match="al eerder ingelezen"):
        _import("debit-batch.xml")
    assert BankStatement.objects.count() == 1
    assert LedgerEntry.objects.count() == 3
    assert BankTransaction.objects.count() == 3


def test_returned_debit_reopens_the_invoice_and_tells_the_member(
    world, settings, django_capture_on_commit_callbacks
):
    settings.SITE_URL = "https://wijkcoop.example"
    _import("debit-batch.xml")
    invoice = world["invoices"][1]
    assert _status(invoice) == Invoice.Status.PAID
    with django_capture_on_commit_callbacks(execute=True):
        result = _import("return-ac04.xml")
    assert result.returns == 1
    assert _status(invoice) == Invoice.Status.OPEN
    assert invoice_balance(invoice) == Decimal("17.50")
    reversal = LedgerEntry.objects.get(kind=LedgerEntry.Kind.REVERSAL)
    payment = LedgerEntry.objects.get(external_id="2026-000002-B1")
    assert reversal.amount == Decimal("-17.50") and reversal.reverses == payment
    assert reversal.invoice == invoice and reversal.source == LedgerEntry.Source.SEPA
    item = CollectionItem.objects.get(invoice=invoice)
    assert item.status == CollectionItem.Status.RETURNED and item.return_reason == "AC04"
    # AC04: the account is closed, so the mandate cannot be used again.
    assert Mandate.objects.get(pk=item.mandate_id).status == Mandate.Status.REVOKED
    message = OutboxMessage.objects.get(key=f"finance.returned:{item.pk}")
    assert collection_returns_notify(item_ids=[item.pk]) == 0  # the task again: nothing new
    member = world["debtors"][1][0]
    assert message.to_email == member.email
    assert "de rekening is opgeheven" in message.body_text
    assert "2026-000002" in message.subject
    assert "https://wijkcoop.example/" in message.body_text
    # The other invoices of the batch stay paid; the line says what happened.
    assert _status(world["invoices"][0]) == Invoice.Status.PAID
    line = BankTransaction.objects.get(return_reason="AC04")
    assert line.status == BankTransaction.Status.MATCHED and line.amount == Decimal("-17.50")
    assert "opgeheven" in line.note


def test_a_return_without_a_known_payment_still_leaves_the_invoice_open(world):
    invoice = world["invoices"][1]
    _import("return-ac04.xml")
    assert _status(invoice) == Invoice.Status.OPEN
    assert invoice_balance(invoice) == Decimal("17.50")
    # The batch line arriving later (or marking it collected) does not pay it again.
    _import("debit-batch.xml")
    assert invoice_balance(invoice) == Decimal("17.50")
    assert _status(invoice) == Invoice.Status.OPEN
    assert LedgerEntry.objects.filter(invoice=invoice).count() == 2
    assert CollectionItem.objects.get(invoice=invoice).status == CollectionItem.Status.RETURNED


# Transfers and the unmatched queue ----------------------------------------------------------


def test_transfer_is_matched_by_the_invoice_number_in_the_description(world):
    result = _import("transfer.xml")
    assert (result.transfers, result.unmatched) == (1, 0)
    invoice = world["invoices"][3]
    assert _status(invoice) == Invoice.Status.PAID
    entry = LedgerEntry.objects.get()
    assert entry.source == LedgerEntry.Source.TRANSFER
    assert entry.external_id == "NL91ABNA0417164300:2026-12-16:10.00:20261216-TR-0001"
    assert entry.amount == Decimal("10.00") and entry.invoice == invoice
    line = BankTransaction.objects.get()
    assert line.invoice == invoice and line.counterparty_name == "J. Bakker"


def test_unmatched_lines_wait_for_the_treasurer_and_reimport_books_nothing(world, treasurer):
    result = _import("statement-twice.xml")
    assert (result.transfers, result.unmatched) == (1, 2)
    assert _status(world["invoices"][4]) == Invoice.Status.PAID  # "betaling 2026 000005"
    with pytest.raises(FinanceError, match="al eerder ingelezen"):
        _import("statement-twice.xml")
    unmatched = BankTransaction.objects.filter(status=BankTransaction.Status.UNMATCHED)
    assert sorted(unmatched.values_list("amount", flat=True)) == [
        Decimal("-4.95"),
        Decimal("25.00"),
    ]
    gift = unmatched.get(amount=Decimal("25.00"))
    assert gift.entry_key.startswith("NL91ABNA0417164300:h:")  # no AcctSvcrRef: a hash
    costs = unmatched.get(amount=Decimal("-4.95"))
    assert "Kosten betalingsverkeer" in costs.remittance

    # An overlapping statement (same entries, another file) only adds the new line.
    result = _import("statement-overlap.xml")
    assert result.already_imported == 3 and result.transfers == 1 and result.not_booked == 1
    assert _status(world["invoices"][5]) == Invoice.Status.PAID  # structured reference 2026-000006
    assert LedgerEntry.objects.count() == 2
    assert BankTransaction.objects.count() == 4

    # The treasurer links the gift to an invoice by hand, and ignores the bank costs.
    target = world["invoices"][0]
    transaction_resolve(transaction=gift, invoice=target, by=treasurer)
    gift.refresh_from_db()
    assert gift.status == BankTransaction.Status.RESOLVED and gift.invoice == target
    entry = LedgerEntry.objects.get(external_id=gift.entry_key)
    assert entry.amount == Decimal("25.00") and entry.created_by == treasurer
    assert _status(target) == Invoice.Status.PAID
    with pytest.raises(FinanceError, match="al afgehandeld"):
        transaction_resolve(transaction=gift, invoice=target, by=treasurer)
    with pytest.raises(FinanceError, match="afschrijving"):
        transaction_resolve(transaction=costs, invoice=target, by=treasurer)
    transaction_ignore(transaction=costs, by=treasurer, note="Bankkosten")
    costs.refresh_from_db()
    assert costs.status == BankTransaction.Status.IGNORED and costs.note == "Bankkosten"
    assert not BankTransaction.objects.filter(status=BankTransaction.Status.UNMATCHED).exists()


def test_a_transfer_for_an_invoice_already_paid_is_left_for_the_treasurer(world):
    _import("transfer.xml")
    content = _read("transfer.xml").replace(b"20261216-TR-0001", b"20261217-TR-0009")
    result = statement_import(file_name="again.xml", content=content, by=None)
    assert result.unmatched == 1 and result.transfers == 0
    assert "al betaald" in BankTransaction.objects.get(status="unmatched").note
    assert LedgerEntry.objects.count() == 1


# Bad files ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["billion-laughs.xml", "external-entity.xml"])
def test_xml_bombs_and_external_entities_are_refused_and_nothing_is_booked(world, name):
    with pytest.raises(FinanceError, match="veiligheid"):
        _import(name)
    _nothing_booked()
    assert _status(world["invoices"][3]) == Invoice.Status.OPEN


def test_a_truncated_file_is_refused_and_nothing_is_booked(world):
    with pytest.raises(FinanceError, match="compleet"):
        _import("truncated.xml")
    _nothing_booked()


def test_balances_that_do_not_add_up_are_refused(world):
    content = _read("debit-batch.xml").replace(b"1052.50", b"1070.00")
    with pytest.raises(FinanceError, match="saldi"):
        statement_import(file_name="x.xml", content=content, by=None)
    _nothing_booked()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ((CAMT / "intraday-camt052.xml").read_bytes(), "geen CAMT.053"),
        (b"Datum;Naam;Bedrag\n2026-12-15;J. Bakker;10,00\n", "CAMT.053 \\(XML\\) of MT940"),
        (b"", "leeg"),
    ],
)
def test_other_formats_are_refused(world, content, message):
    with pytest.raises(FinanceError, match=message):
        statement_import(file_name="upload", content=content, by=None)
    _nothing_booked()


def test_a_failure_halfway_rolls_back_everything(world, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr("finance.models.BankTransaction.objects.bulk_create", broken)
    with pytest.raises(RuntimeError):
        _import("debit-batch.xml")
    _nothing_booked()
    assert set(CollectionItem.objects.values_list("status", flat=True)) == {
        CollectionItem.Status.PENDING
    }


# MT940 --------------------------------------------------------------------------------------


def test_mt940_fallback_matches_transfers_and_returns(world):
    content = (FIXTURES / "mt940" / "statement.sta").read_bytes()
    result = statement_import(file_name="statement.sta", content=content, by=None)
    assert result.statement.format == "mt940"
    assert (result.transfers, result.returns, result.unmatched) == (1, 1, 1)
    assert _status(world["invoices"][3]) == Invoice.Status.PAID
    item = CollectionItem.objects.get(end_to_end_id="2026-000002-B1")
    assert item.status == CollectionItem.Status.RETURNED and item.return_reason == "MS02"
    assert (
        Mandate.objects.get(pk=item.mandate_id).status == Mandate.Status.ACTIVE
    )  # MS02: no reason
    assert _status(world["invoices"][1]) == Invoice.Status.OPEN
    transfer = LedgerEntry.objects.get(source=LedgerEntry.Source.TRANSFER)
    assert transfer.external_id == "NL91ABNA0417164300:2026-12-15:10.00:20261215TR01"
    with pytest.raises(FinanceError, match="al eerder ingelezen"):
        statement_import(file_name="statement.sta", content=content, by=None)


def test_a_truncated_mt940_file_is_refused(world):
    content = (FIXTURES / "mt940" / "statement.sta").read_bytes()
    with pytest.raises(FinanceError, match="niet compleet"):
        statement_import(file_name="cut.sta", content=content[: content.index(b":62F:")], by=None)
    _nothing_booked()


# Two imports at the same moment -------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_imports_of_the_same_file_at_once_book_once(on_postgres):
    debtors = [household_with_mandate(n) for n in (1, 2, 3)]
    invoices = [make_invoice(member.household) for member, _ in debtors]
    exported_batch([(invoices[n], debtors[n][1]) for n in range(3)])
    content = _read("debit-batch.xml")
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def run():
        try:
            barrier.wait()
            statement_import(file_name="debit-batch.xml", content=content, by=None)
            outcomes.append("imported")
        except FinanceError as exc:
            outcomes.append(str(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes)[1] == "imported", outcomes
    assert "al eerder ingelezen" in sorted(outcomes)[0]
    assert BankStatement.objects.count() == 1
    assert LedgerEntry.objects.count() == 3
    assert BankTransaction.objects.count() == 3


@pytest.mark.django_db(transaction=True)
def test_the_unique_entry_key_is_the_last_line_of_defence(on_postgres):
    """Even without the import lock, a line already in the database cannot be stored again."""
    from django.db import IntegrityError

    statement = BankStatement.objects.create(file_name="a", file_hash="a" * 64, format="camt053")
    fields = {
        "statement": statement,
        "booking_date": dt.date(2026, 12, 1),
        "amount": Decimal("1.00"),
    }
    BankTransaction.objects.create(entry_key="NL91:REF-1", **fields)
    with pytest.raises(IntegrityError):
        BankTransaction.objects.create(entry_key="NL91:REF-1", **fields)


def test_payments_from_a_statement_get_one_receipt_each(world, django_capture_on_commit_callbacks):
    from coop.core.models import OutboxMessage

    with django_capture_on_commit_callbacks(execute=True):
        _import("transfer.xml")
    entry = LedgerEntry.objects.get()
    receipts = OutboxMessage.objects.filter(key__startswith="finance.receipt:")
    assert list(receipts.values_list("key", flat=True)) == [f"finance.receipt:{entry.pk}"]
    assert world["invoices"][3].number in receipts.get().body_text
