"""Payment reminders: first, second, the call list; exactly once; stopping when paid."""

import datetime as dt
from decimal import Decimal

import pytest

from coop.celery import app
from coop.core.models import OutboxMessage
from finance.models import FinanceSettings, Invoice
from finance.sepa_selectors import call_list
from finance.services.ledger import ledger_book
from finance.services.reminders import reminder_settings_update, reminders_send
from finance.tasks import reminders_send_task
from members.models import Member

from .factories import MemberFactory
from .sepa_support import exported_batch, household_with_mandate, make_invoice

pytestmark = pytest.mark.django_db

DUE = dt.date(2026, 2, 14)  # make_invoice's due date
FIRST = DUE + dt.timedelta(days=14)  # default: 14 days after the due date
SECOND = FIRST + dt.timedelta(days=14)
CALL = SECOND + dt.timedelta(days=14)


def _messages(invoice: Invoice) -> list[str]:
    return sorted(
        OutboxMessage.objects.filter(key__endswith=f":{invoice.pk}").values_list("key", flat=True)
    )


def _level(invoice: Invoice) -> int:
    invoice.refresh_from_db()
    return invoice.reminder_level


def test_first_second_and_call_list_each_exactly_once():
    member = MemberFactory(phone="0528 123456")
    invoice = make_invoice(member.household)

    assert reminders_send(today=FIRST - dt.timedelta(days=1)).as_dict() == {
        "first": 0,
        "second": 0,
        "call_list": 0,
    }
    assert _messages(invoice) == []

    assert reminders_send(today=FIRST).first == 1
    assert reminders_send(today=FIRST).first == 0  # the same day again: nothing new
    assert _messages(invoice) == [f"finance.reminder1:{invoice.pk}"]
    first = OutboxMessage.objects.get(key=f"finance.reminder1:{invoice.pk}")
    assert first.to_email == member.email and first.channel == OutboxMessage.Channel.EMAIL
    assert invoice.number in first.subject and "€ 17,50" in first.body_text
    assert "14 februari 2026" in first.body_text

    assert reminders_send(today=SECOND - dt.timedelta(days=1)).second == 0
    assert reminders_send(today=SECOND).second == 1
    assert reminders_send(today=SECOND + dt.timedelta(days=3)).second == 0
    assert _messages(invoice) == [
        f"finance.reminder1:{invoice.pk}",
        f"finance.reminder2:{invoice.pk}",
    ]
    assert (
        "Tweede herinnering"
        in OutboxMessage.objects.get(key=f"finance.reminder2:{invoice.pk}").subject
    )
    assert call_list(today=SECOND) == []

    assert reminders_send(today=CALL).call_list == 1
    assert reminders_send(today=CALL + dt.timedelta(days=30)).as_dict() == {
        "first": 0,
        "second": 0,
        "call_list": 0,
    }
    assert len(_messages(invoice)) == 2  # the call list is a phone call, not a third letter
    rows = call_list(today=CALL)
    assert [row.invoice for row in rows] == [invoice]
    assert rows[0].balance == Decimal("17.50") and rows[0].days_overdue == (CALL - DUE).days
    assert rows[0].phones == ["0528 123456"]


def test_a_task_running_twice_sends_nothing_twice():
    invoices = [make_invoice(MemberFactory().household) for _ in range(3)]
    app.conf.task_always_eager = True
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("django.utils.timezone.localdate", lambda *a, **k: FIRST)
        assert reminders_send_task.delay().get() == {"first": 3, "second": 0, "call_list": 0}
        assert reminders_send_task.delay().get() == {"first": 0, "second": 0, "call_list": 0}
    assert OutboxMessage.objects.filter(key__startswith="finance.reminder1:").count() == 3
    assert {_level(i) for i in invoices} == {1}


def test_a_paid_invoice_is_not_reminded_and_payment_stops_the_reminders():
    paid = make_invoice(MemberFactory().household)
    ledger_book(
        invoice=paid, kind="payment", source="manual", external_id="p1", amount=Decimal("17.50")
    )
    later = make_invoice(MemberFactory().household)
    reminders_send(today=FIRST)
    assert _messages(paid) == [] and _level(paid) == 0
    assert _messages(later) == [f"finance.reminder1:{later.pk}"]
    ledger_book(
        invoice=later, kind="payment", source="ideal", external_id="tr_9", amount=Decimal("17.50")
    )
    assert reminders_send(today=SECOND).second == 0
    assert reminders_send(today=CALL).call_list == 0
    assert _messages(later) == [f"finance.reminder1:{later.pk}"]
    assert call_list(today=CALL) == []


def test_partly_paid_invoices_are_reminded_of_what_is_left():
    invoice = make_invoice(MemberFactory().household)
    ledger_book(
        invoice=invoice, kind="payment", source="manual", external_id="p2", amount=Decimal("7.50")
    )
    reminders_send(today=FIRST)
    assert "€ 10,00" in OutboxMessage.objects.get(key=f"finance.reminder1:{invoice.pk}").body_text


def test_invoices_in_a_running_direct_debit_are_not_reminded():
    member, mandate = household_with_mandate(1)
    invoice = make_invoice(member.household)
    exported_batch([(invoice, mandate)])
    assert reminders_send(today=CALL).as_dict() == {"first": 0, "second": 0, "call_list": 0}


def test_members_without_e_mail_get_a_letter():
    member = MemberFactory(email="")
    invoice = make_invoice(member.household)
    reminders_send(today=FIRST)
    letter = OutboxMessage.objects.get(key=f"finance.reminder1:{invoice.pk}")
    assert letter.channel == OutboxMessage.Channel.LETTER
    assert letter.to_address.startswith("Dorpsstraat") and letter.to_name == member.full_name


def test_letters_go_to_members_who_asked_for_paper_even_with_an_e_mail_address():
    member = MemberFactory()
    Member.objects.filter(pk=member.pk).update(contact_preference=Member.ContactPreference.LETTER)
    invoice = make_invoice(member.household)
    reminders_send(today=FIRST)
    assert OutboxMessage.objects.get(key=f"finance.reminder1:{invoice.pk}").channel == "letter"


def test_the_treasurer_sets_the_number_of_days():
    reminder_settings_update(first_reminder_days=30, second_reminder_days=7, call_list_days=3)
    settings = FinanceSettings.current()
    assert (
        settings.first_reminder_days,
        settings.second_reminder_days,
        settings.call_list_days,
    ) == (30, 7, 3)
    invoice = make_invoice(MemberFactory().household)
    assert reminders_send(today=DUE + dt.timedelta(days=29)).first == 0
    assert reminders_send(today=DUE + dt.timedelta(days=30)).first == 1
    assert reminders_send(today=DUE + dt.timedelta(days=37)).second == 1
    assert reminders_send(today=DUE + dt.timedelta(days=40)).call_list == 1
    assert _level(invoice) == 3
    with pytest.raises(Exception, match="1 tot 365"):
        reminder_settings_update(first_reminder_days=0, second_reminder_days=7, call_list_days=3)


def test_two_runs_at_once_claim_each_step_once():
    """The conditional update: a second claim of the same step finds nothing to claim."""
    from finance.services.reminders import _reminder_advance

    invoice = make_invoice(MemberFactory().household)
    assert _reminder_advance(invoice_id=invoice.pk, to_level=1, today=FIRST) is True
    assert _reminder_advance(invoice_id=invoice.pk, to_level=1, today=FIRST) is False
    assert OutboxMessage.objects.filter(key=f"finance.reminder1:{invoice.pk}").count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_tasks_in_parallel_send_each_reminder_once(on_postgres):
    import threading

    from django.db import connection

    invoices = [make_invoice(MemberFactory().household) for _ in range(12)]
    barrier = threading.Barrier(2)
    results = []

    def run():
        try:
            barrier.wait()
            results.append(reminders_send(today=FIRST).first)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(results) == 12
    assert OutboxMessage.objects.filter(key__startswith="finance.reminder1:").count() == 12
    assert {_level(i) for i in invoices} == {1}
