"""Bank lines that need more than one invoice: batch totals with and without a reference, linking
by hand to a batch or over several invoices, returns and what comes next by reason code, invoices
paid twice while in a batch, and pre-notice letters that keep a batch from the bank.

Statements are written as a bank writes a CAMT.053 (finance.camt_samples): a batch total is one
entry without transaction details; a return is a debit entry with our EndToEndId and a reason.
"""

import datetime as dt
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone

from coop.core.models import OutboxMessage
from finance.camt_samples import CREDIT, DEBIT, camt_entry, camt_statement, camt_transaction
from finance.models import (
    BankTransaction,
    CollectionBatch,
    CollectionItem,
    Invoice,
    LedgerEntry,
    Mandate,
)
from finance.sepa_selectors import call_list, return_rows, returned_items
from finance.services import FinanceError
from finance.services.bank_links import transaction_link_batch, transaction_split
from finance.services.batch_care import (
    batch_items_remove,
    collection_item_withdraw,
    collections_paid_twice,
    prenotice_letters_late,
)
from finance.services.collections import batch_mark_collected
from finance.services.ledger import invoice_balance
from finance.services.overpayments import overpayment_refund
from finance.services.returns import RETRY_ONCE, collection_returns_notify
from finance.services.sepa import batch_create, batch_export
from finance.services.statements import statement_import
from members.models import Member

from .factories import MemberFactory
from .sepa_support import exported_batch, household_with_mandate, iban_for, make_invoice

pytestmark = pytest.mark.django_db

COLLECTION = dt.date(2026, 12, 15)
TODAY = dt.date(2026, 11, 23)  # 22 days before COLLECTION
_counter = iter(range(1, 10_000))


def _statement(*entries: tuple[str, Decimal, str, dt.date, str, str]) -> bytes:
    """entries: (reference, amount, CRDT/DBIT, day, details, info)."""
    movement = sum(
        (amount if indicator == CREDIT else -amount for _r, amount, indicator, *_x in entries),
        Decimal("0.00"),
    )
    day = max(entry[3] for entry in entries)
    return camt_statement(
        statement_id=f"STMT-{next(_counter)}",
        entries=[camt_entry(*entry) for entry in entries],
        movement=movement,
        day=day,
    )


def _import(content: bytes):
    return statement_import(file_name="afschrift.xml", content=content, by=None)


def _status(invoice: Invoice) -> str:
    invoice.refresh_from_db()
    return invoice.status


def _booked(invoice: Invoice) -> Decimal:
    return invoice.entries.aggregate(s=Sum("amount"))["s"] or Decimal("0.00")


@pytest.fixture
def batch3(db):
    """Three invoices of €17.50 in exported batch WKC-20261215-1."""
    debtors = [household_with_mandate(n) for n in (1, 2, 3)]
    invoices = [make_invoice(member.household) for member, _mandate in debtors]
    batch, items = exported_batch([(invoices[n], debtors[n][1]) for n in range(3)])
    return {"invoices": invoices, "batch": batch, "items": items, "debtors": debtors}


def _return_entry(item: CollectionItem, reason: str, day=dt.date(2026, 12, 18)):
    tx = camt_transaction(item.end_to_end_id, item.amount, "J Lid", iban_for(9), "Storno", reason)
    return (f"RT-{next(_counter)}", item.amount, DEBIT, day, tx, "")


# Batch totals ------------------------------------------------------------------------------------


def test_a_batch_total_without_reference_is_the_batch_when_amount_and_date_fit(batch3):
    result = _import(
        _statement(("B-1", Decimal("52.50"), CREDIT, COLLECTION, "", "SEPA INCASSO BATCH"))
    )
    assert result.debits == 3 and result.unmatched == 0
    for invoice in batch3["invoices"]:
        assert _status(invoice) == Invoice.Status.PAID
        assert _booked(invoice) == Decimal("17.50")
    assert LedgerEntry.objects.filter(source=LedgerEntry.Source.SEPA).count() == 3
    batch3["batch"].refresh_from_db()
    assert batch3["batch"].status == CollectionBatch.Status.COLLECTED
    assert set(CollectionItem.objects.values_list("status", flat=True)) == {
        CollectionItem.Status.COLLECTED
    }
    line = BankTransaction.objects.get()
    assert line.status == BankTransaction.Status.MATCHED and "WKC-20261215-1" in line.note


def test_a_total_on_a_day_that_does_not_fit_waits_and_can_be_linked_to_the_batch(batch3):
    _import(_statement(("B-2", Decimal("52.50"), CREDIT, dt.date(2027, 1, 20), "", "BATCH")))
    line = BankTransaction.objects.get()
    assert line.status == BankTransaction.Status.UNMATCHED
    assert LedgerEntry.objects.count() == 0
    assert transaction_link_batch(transaction=line, batch=batch3["batch"], by=None) == 3
    for invoice in batch3["invoices"]:
        assert _status(invoice) == Invoice.Status.PAID and invoice_balance(invoice) == 0
    batch3["batch"].refresh_from_db()
    assert batch3["batch"].status == CollectionBatch.Status.COLLECTED
    line.refresh_from_db()
    assert line.status == BankTransaction.Status.RESOLVED
    with pytest.raises(FinanceError, match="al afgehandeld"):
        transaction_link_batch(transaction=line, batch=batch3["batch"], by=None)
    assert LedgerEntry.objects.count() == 3


def test_a_total_that_is_not_what_the_batch_has_open_is_refused_with_the_difference(batch3):
    _import(_statement(("B-3", Decimal("40.00"), CREDIT, COLLECTION, "", "BATCH")))
    line = BankTransaction.objects.get()
    assert line.status == BankTransaction.Status.UNMATCHED
    with pytest.raises(FinanceError, match="verschil"):
        transaction_link_batch(transaction=line, batch=batch3["batch"], by=None)
    assert LedgerEntry.objects.count() == 0
    assert all(_status(invoice) == Invoice.Status.OPEN for invoice in batch3["invoices"])


def test_two_batches_with_the_same_total_are_left_to_the_treasurer(batch3):
    others = [household_with_mandate(n) for n in (4, 5, 6)]
    invoices = [make_invoice(member.household) for member, _mandate in others]
    exported_batch([(invoices[n], others[n][1]) for n in range(3)], batch_no=2)
    _import(_statement(("B-4", Decimal("52.50"), CREDIT, COLLECTION, "", "BATCH")))
    assert BankTransaction.objects.get().status == BankTransaction.Status.UNMATCHED
    assert LedgerEntry.objects.count() == 0


def test_a_batch_total_is_booked_once_even_when_it_appears_twice(batch3):
    _import(_statement(("B-5", Decimal("52.50"), CREDIT, COLLECTION, "", "BATCH")))
    _import(
        _statement(
            ("B-5", Decimal("52.50"), CREDIT, COLLECTION, "", "BATCH"),
            ("B-6", Decimal("52.50"), CREDIT, COLLECTION, "", "BATCH"),
        )
    )
    assert LedgerEntry.objects.count() == 3
    assert sum(_booked(invoice) for invoice in batch3["invoices"]) == Decimal("52.50")
    assert BankTransaction.objects.filter(status=BankTransaction.Status.UNMATCHED).count() == 1


# Split over invoices -----------------------------------------------------------------------------


def test_one_transfer_split_over_two_invoices_with_the_remainder_shown():
    member = MemberFactory()
    first = make_invoice(member.household)
    second = make_invoice(member.household, Decimal("22.50"), year=2027)
    tx = camt_transaction(
        "NOTPROVIDED", Decimal("40.00"), "J Lid", iban_for(7), "Contributie twee jaar"
    )
    _import(_statement(("T-1", Decimal("40.00"), CREDIT, dt.date(2026, 12, 1), tx, "")))
    line = BankTransaction.objects.get()
    assert line.status == BankTransaction.Status.UNMATCHED
    with pytest.raises(FinanceError, match="nog te verdelen € 5,00"):
        transaction_split(
            transaction=line,
            parts=[(first, Decimal("17.50")), (second, Decimal("17.50"))],
            by=None,
        )
    with pytest.raises(FinanceError, match="te veel verdeeld"):
        transaction_split(
            transaction=line,
            parts=[(first, Decimal("20.00")), (second, Decimal("22.50"))],
            by=None,
        )
    assert LedgerEntry.objects.count() == 0
    transaction_split(
        transaction=line, parts=[(first, Decimal("17.50")), (second, Decimal("22.50"))], by=None
    )
    assert _status(first) == _status(second) == Invoice.Status.PAID
    assert invoice_balance(first) == invoice_balance(second) == 0
    assert LedgerEntry.objects.aggregate(s=Sum("amount"))["s"] == Decimal("40.00")
    line.refresh_from_db()
    assert line.status == BankTransaction.Status.RESOLVED
    assert first.number in line.note and second.number in line.note
    with pytest.raises(FinanceError, match="al afgehandeld"):
        transaction_split(transaction=line, parts=[(first, Decimal("40.00"))], by=None)


def test_a_split_refuses_the_same_invoice_twice_and_a_credited_one():
    member = MemberFactory()
    invoice = make_invoice(member.household)
    tx = camt_transaction("NOTPROVIDED", Decimal("35.00"), "J Lid", iban_for(7), "twee keer")
    _import(_statement(("T-2", Decimal("35.00"), CREDIT, dt.date(2026, 12, 1), tx, "")))
    line = BankTransaction.objects.get()
    with pytest.raises(FinanceError, match="maar één keer"):
        transaction_split(
            transaction=line,
            parts=[(invoice, Decimal("17.50")), (invoice, Decimal("17.50"))],
            by=None,
        )
    assert LedgerEntry.objects.count() == 0


# Returns and the next batch ----------------------------------------------------------------------


def _collected_then_returned(batch3, reasons: dict[int, str]):
    _import(_statement(("B-7", Decimal("52.50"), CREDIT, COLLECTION, "", "BATCH")))
    entries = [_return_entry(batch3["items"][n], code) for n, code in reasons.items()]
    _import(_statement(*entries))


def test_returns_decide_what_the_next_batch_takes(batch3):
    # Invoice 0: MS02 (the member refused); 1: AM04 (no money); 2: AC04 (account closed).
    _collected_then_returned(batch3, {0: "MS02", 1: "AM04", 2: "AC04"})
    invoices = batch3["invoices"]
    for invoice in invoices:
        assert _status(invoice) == Invoice.Status.OPEN
        assert invoice_balance(invoice) == Decimal("17.50")
    # The closed account's household signs a new mandate: still never again by debit.
    household = invoices[2].household
    from finance.services.mandates import mandate_record_paper

    mandate_record_paper(
        household=household,
        account_holder="Nieuw",
        iban=iban_for(33),
        signed_on=dt.date(2026, 12, 1),
        signed_by=household.members.first(),
        by=None,
    )
    batch = batch_create(collection_date=dt.date(2027, 1, 19), by=None, today=dt.date(2026, 12, 21))
    assert list(batch.items.values_list("invoice__number", flat=True)) == [invoices[1].number]
    # The next batch's debit gets its own pre-notice (queued with the batch).
    # A second AM04 return: no third attempt.
    batch_export(batch=batch, by=None, today=dt.date(2026, 12, 22))
    batch_mark_collected(batch=batch, by=None, today=dt.date(2027, 1, 19))
    _import(_statement(_return_entry(batch.items.get(), "AM04", day=dt.date(2027, 1, 22))))
    assert _status(invoices[1]) == Invoice.Status.OPEN
    with pytest.raises(FinanceError, match="geen openstaande facturen"):
        batch_create(collection_date=dt.date(2027, 2, 16), by=None, today=dt.date(2027, 1, 25))


def test_refused_debits_go_to_the_call_list_and_the_returns_page_says_what_next(batch3):
    _collected_then_returned(batch3, {0: "MD06", 1: "MS03"})
    on_list = {row.invoice.number for row in call_list(today=dt.date(2026, 12, 20))}
    assert batch3["invoices"][0].number in on_list  # MD06: the member asked a refund
    assert batch3["invoices"][1].number not in on_list  # MS03: collected once more
    rows = {row.item.return_reason: row for row in return_rows(returned_items())}
    assert rows["MS03"].next_step == RETRY_ONCE
    assert "bellijst" in rows["MD06"].next_step_text


def test_the_return_message_says_what_happens_next_in_the_members_language(
    batch3, django_capture_on_commit_callbacks
):
    Member.objects.filter(pk=batch3["debtors"][0][0].pk).update(language="en")
    _import(_statement(("B-8", Decimal("52.50"), CREDIT, COLLECTION, "", "BATCH")))
    _import(
        _statement(
            _return_entry(batch3["items"][0], "AM04"), _return_entry(batch3["items"][1], "MS02")
        )
    )
    items = [batch3["items"][0].pk, batch3["items"][1].pk]
    assert collection_returns_notify(item_ids=items) == 2
    english = OutboxMessage.objects.get(key=f"finance.returned:{items[0]}")
    dutch = OutboxMessage.objects.get(key=f"finance.returned:{items[1]}")
    assert "there was not enough money in the account" in english.body_text
    assert "niet genoeg geld" not in english.body_text
    assert "nog één keer" not in dutch.body_text
    assert "niet opnieuw automatisch af" in dutch.body_text


# Paid twice --------------------------------------------------------------------------------------


def test_a_transfer_for_an_invoice_in_an_exported_batch_is_flagged_at_once(batch3):
    invoice = batch3["invoices"][0]
    tx = camt_transaction(
        "NOTPROVIDED", Decimal("17.50"), "J Lid", iban_for(1), f"factuur {invoice.number}"
    )
    _import(_statement(("T-3", Decimal("17.50"), CREDIT, dt.date(2026, 12, 1), tx, "")))
    assert _status(invoice) == Invoice.Status.PAID
    assert "zit ook in incassobatch WKC-20261215-1" in BankTransaction.objects.get().note
    flags = collections_paid_twice(today=dt.date(2026, 12, 2))
    assert [flag.invoice.number for flag in flags] == [invoice.number]
    assert flags[0].before_collection
    # Withdrawn at the bank: no longer flagged; the batch total is what is left.
    collection_item_withdraw(item=batch3["items"][0], by=None)
    assert collections_paid_twice(today=dt.date(2026, 12, 2)) == []
    _import(_statement(("B-9", Decimal("35.00"), CREDIT, COLLECTION, "", "BATCH")))
    assert invoice_balance(invoice) == 0  # paid once
    batch3["batch"].refresh_from_db()
    assert batch3["batch"].status == CollectionBatch.Status.COLLECTED


def test_paid_by_transfer_and_collected_too_asks_to_refund_one(batch3):
    invoice = batch3["invoices"][0]
    tx = camt_transaction(
        "NOTPROVIDED", Decimal("17.50"), "J Lid", iban_for(1), f"factuur {invoice.number}"
    )
    _import(_statement(("T-4", Decimal("17.50"), CREDIT, dt.date(2026, 12, 14), tx, "")))
    _import(_statement(("B-10", Decimal("52.50"), CREDIT, COLLECTION, "", "BATCH")))
    assert invoice_balance(invoice) == Decimal("-17.50")
    flags = collections_paid_twice(today=dt.date(2026, 12, 16))
    assert len(flags) == 1 and not flags[0].before_collection
    overpayment_refund(invoice=invoice, iban=iban_for(1), account_holder="J Lid", by=None)
    assert invoice_balance(invoice) == 0
    assert collections_paid_twice(today=dt.date(2026, 12, 16)) == []


def test_a_withdrawal_is_only_for_a_pending_debit_of_an_exported_batch(batch3):
    _import(_statement(("B-11", Decimal("52.50"), CREDIT, COLLECTION, "", "BATCH")))
    with pytest.raises(FinanceError):
        collection_item_withdraw(item=batch3["items"][0], by=None)


# Pre-notice letters and departed households ------------------------------------------------------


def _letter_household(n: int):
    member, mandate = household_with_mandate(n, email="")
    Member.objects.filter(pk=member.pk).update(
        email="", contact_preference=Member.ContactPreference.LETTER
    )
    return member, make_invoice(member.household)


def test_unprinted_or_late_letters_keep_the_batch_from_the_bank(django_capture_on_commit_callbacks):
    letter_member, letter_invoice = _letter_household(20)
    email_member, _mandate = household_with_mandate(21)
    make_invoice(email_member.household)
    with django_capture_on_commit_callbacks(execute=True):
        batch = batch_create(collection_date=COLLECTION, by=None, today=TODAY)
    letter = OutboxMessage.objects.get(channel=OutboxMessage.Channel.LETTER)
    assert letter.status == OutboxMessage.Status.PENDING
    with pytest.raises(FinanceError, match="nog niet geprint"):
        batch_export(batch=batch, by=None, today=TODAY)
    late = prenotice_letters_late(batch)
    assert [row.invoice_number for row in late] == [letter_invoice.number]
    assert late[0].name == letter_member.full_name
    # Printed 10 days before the collection date: too late.
    printed = timezone.make_aware(dt.datetime(2026, 12, 5, 10, 0))
    OutboxMessage.objects.filter(pk=letter.pk).update(
        status=OutboxMessage.Status.PRINTED, sent_at=printed
    )
    with pytest.raises(FinanceError, match="te laat geprint"):
        batch_export(batch=batch, by=None, today=TODAY)
    batch.refresh_from_db()
    assert batch.status == CollectionBatch.Status.DRAFT
    # Printed in time: the batch goes.
    OutboxMessage.objects.filter(pk=letter.pk).update(
        sent_at=timezone.make_aware(dt.datetime(2026, 11, 30, 10, 0))
    )
    batch_export(batch=batch, by=None, today=TODAY)
    batch.refresh_from_db()
    assert batch.status == CollectionBatch.Status.EXPORTED and batch.count == 2


def test_households_with_a_late_letter_can_be_taken_out_of_the_batch(
    django_capture_on_commit_callbacks,
):
    _letter_member, letter_invoice = _letter_household(22)
    email_member, _mandate = household_with_mandate(23)
    make_invoice(email_member.household)
    with django_capture_on_commit_callbacks(execute=True):
        batch = batch_create(collection_date=COLLECTION, by=None, today=TODAY)
    item = batch.items.get(invoice=letter_invoice)
    assert batch_items_remove(batch=batch, item_ids=[item.pk], by=None) == 1
    assert not OutboxMessage.objects.filter(channel=OutboxMessage.Channel.LETTER).exists()
    batch_export(batch=batch, by=None, today=TODAY)
    batch.refresh_from_db()
    assert batch.count == 1 and batch.total == Decimal("17.50")
    assert _status(letter_invoice) == Invoice.Status.OPEN
    with pytest.raises(FinanceError, match="al geëxporteerd"):
        batch_items_remove(batch=batch, item_ids=[batch.items.get().pk], by=None)


def test_a_household_whose_members_all_left_is_never_put_in_a_batch():
    left, _mandate = household_with_mandate(30)
    stays, _mandate2 = household_with_mandate(31)
    gone = make_invoice(left.household)
    make_invoice(stays.household)
    Member.objects.filter(pk=left.pk).update(
        status=Member.Status.CANCELLED, ended_on=dt.date(2026, 10, 31)
    )
    batch = batch_create(collection_date=COLLECTION, by=None, today=TODAY)
    assert gone.number not in set(batch.items.values_list("invoice__number", flat=True))
    assert batch.items.count() == 1


def test_the_debit_description_names_the_invoices_own_year():
    member, _mandate = household_with_mandate(40)
    invoice = make_invoice(member.household, year=2027)
    Invoice.objects.filter(pk=invoice.pk).update(year=2026)  # issued in 2026, for 2027
    batch = batch_create(collection_date=COLLECTION, by=None, today=TODAY)
    xml = batch_export(batch=batch, by=None, today=TODAY).decode()
    assert f"2027 factuur {invoice.number}" in xml


# Pages -------------------------------------------------------------------------------------------


@pytest.fixture
def treasurer_client(client, treasurer):
    client.force_login(treasurer)
    return client


def test_the_treasurer_splits_a_line_on_its_page(treasurer_client):
    member = MemberFactory()
    first = make_invoice(member.household)
    second = make_invoice(member.household, Decimal("22.50"), year=2027)
    tx = camt_transaction("NOTPROVIDED", Decimal("40.00"), "J Lid", iban_for(7), "twee jaar")
    _import(_statement(("T-5", Decimal("40.00"), CREDIT, dt.date(2026, 12, 1), tx, "")))
    line = BankTransaction.objects.get()
    page = treasurer_client.get(reverse("finance:unmatched_list"))
    assert reverse("finance:transaction_split", args=[line.pk]) in page.content.decode()
    url = reverse("finance:transaction_split", args=[line.pk])
    response = treasurer_client.post(
        url,
        {
            "invoice_1": first.number,
            "amount_1": "17,50",
            "invoice_2": second.number,
            "amount_2": "20",
        },
    )
    assert response.status_code == 200
    assert "Nog te verdelen: € 2,50" in response.content.decode()
    assert LedgerEntry.objects.count() == 0
    response = treasurer_client.post(
        url,
        {
            "invoice_1": first.number,
            "amount_1": "17,50",
            "invoice_2": second.number,
            "amount_2": "22,50",
        },
    )
    assert response.status_code == 302
    assert invoice_balance(first) == invoice_balance(second) == 0


def test_the_treasurer_links_a_line_to_a_batch_and_sees_returns(treasurer_client, batch3):
    _import(_statement(("B-12", Decimal("52.50"), CREDIT, dt.date(2027, 1, 20), "", "BATCH")))
    line = BankTransaction.objects.get()
    page = treasurer_client.get(reverse("finance:unmatched_list")).content.decode()
    assert "WKC-20261215-1" in page  # the batch is offered
    response = treasurer_client.post(
        reverse("finance:transaction_link_batch", args=[line.pk]),
        {f"t{line.pk}-batch": batch3["batch"].pk},
    )
    assert response.status_code == 302
    assert all(_status(invoice) == Invoice.Status.PAID for invoice in batch3["invoices"])
    _import(_statement(_return_entry(batch3["items"][0], "MS02", day=dt.date(2027, 1, 22))))
    page = treasurer_client.get(reverse("finance:returns_list")).content.decode()
    assert batch3["invoices"][0].number in page
    assert "zonder opgave van reden" in page and "bellijst" in page


def test_the_batch_page_lists_late_letters_and_takes_them_out(
    treasurer_client, django_capture_on_commit_callbacks
):
    _letter_member, letter_invoice = _letter_household(24)
    email_member, _mandate = household_with_mandate(25)
    make_invoice(email_member.household)
    with django_capture_on_commit_callbacks(execute=True):
        batch = batch_create(collection_date=COLLECTION, by=None, today=TODAY)
    page = treasurer_client.get(reverse("finance:batch_detail", args=[batch.pk])).content.decode()
    assert letter_invoice.number in page and "nog niet geprint" in page
    item = batch.items.get(invoice=letter_invoice)
    response = treasurer_client.post(
        reverse("finance:batch_items_remove", args=[batch.pk]), {"item": [str(item.pk)]}
    )
    assert response.status_code == 302
    assert not batch.items.filter(pk=item.pk).exists()


def test_the_batch_page_flags_an_invoice_paid_another_way(treasurer_client, batch3, monkeypatch):
    invoice = batch3["invoices"][0]
    tx = camt_transaction(
        "NOTPROVIDED", Decimal("17.50"), "J Lid", iban_for(1), f"factuur {invoice.number}"
    )
    _import(_statement(("T-6", Decimal("17.50"), CREDIT, dt.date(2026, 12, 1), tx, "")))
    monkeypatch.setattr("django.utils.timezone.localdate", lambda *a, **k: dt.date(2026, 12, 2))
    url = reverse("finance:batch_detail", args=[batch3["batch"].pk])
    page = treasurer_client.get(url).content.decode()
    assert "Trek de incasso bij uw bank in" in page
    overview = treasurer_client.get(reverse("finance:finance_overview")).content.decode()
    assert "ook op een andere manier betaald" in overview and invoice.number in overview
    response = treasurer_client.post(
        reverse("finance:collection_item_withdraw", args=[batch3["items"][0].pk])
    )
    assert response.status_code == 302
    batch3["items"][0].refresh_from_db()
    assert batch3["items"][0].status == CollectionItem.Status.WITHDRAWN
    assert Mandate.objects.count() == 3
