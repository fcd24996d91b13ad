"""Payment reminders: a first one, a second one, then the coordinator's call list.

- First reminder: an open or partly paid invoice whose due date lies `first_reminder_days` or more
  in the past (FinanceSettings, set by the treasurer).
- Second reminder: `second_reminder_days` after the first.
- Call list: `call_list_days` after the second the invoice goes on the list a coordinator rings
  down (reminder level 3); no more letters. What came of each call is noted there (calls.py).
- Never reminded: paid, written off or credited invoices (they are simply not selected, so a
  payment stops the reminders at once), credit notes, and invoices in a direct debit that is
  still running (the bank collects them).
- Each step is claimed with a conditional UPDATE (reminder_level old -> new) and its message is
  queued in the same transaction under the key `finance.reminder<level>:<invoice id>`: a task that
  runs twice, or two at once, sends nothing twice.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from coop.core.services import outbox_enqueue

from ..models import CollectionItem, FinanceSettings, Invoice
from . import FinanceError
from .contact import creditor_context, household_contact, invoice_pay_url
from .ledger import invoice_balance

OPEN_STATUSES = (Invoice.Status.OPEN, Invoice.Status.PARTLY_PAID)
LEVEL_NONE, LEVEL_FIRST, LEVEL_SECOND, LEVEL_CALL_LIST = 0, 1, 2, 3


@dataclass
class ReminderResult:
    first: int = 0
    second: int = 0
    call_list: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def reminder_key(level: int, invoice_id: int) -> str:
    return f"finance.reminder{level}:{invoice_id}"


def _remindable():
    return (
        Invoice.objects.filter(kind=Invoice.Kind.INVOICE, status__in=OPEN_STATUSES)
        .exclude(collection_items__status=CollectionItem.Status.PENDING)
        .select_related("household")
    )


def reminders_due(
    *, today: dt.date, settings: FinanceSettings | None = None
) -> dict[int, list[int]]:
    """Invoice ids per level they are due to reach today."""
    settings = settings or FinanceSettings.current()
    days = dt.timedelta
    steps = {
        LEVEL_FIRST: _remindable().filter(
            reminder_level=LEVEL_NONE, due_on__lte=today - days(days=settings.first_reminder_days)
        ),
        LEVEL_SECOND: _remindable().filter(
            reminder_level=LEVEL_FIRST,
            last_reminded_on__lte=today - days(days=settings.second_reminder_days),
        ),
        LEVEL_CALL_LIST: _remindable().filter(
            reminder_level=LEVEL_SECOND,
            last_reminded_on__lte=today - days(days=settings.call_list_days),
        ),
    }
    return {
        level: list(qs.order_by("pk").values_list("pk", flat=True)) for level, qs in steps.items()
    }


@transaction.atomic
def _reminder_advance(*, invoice_id: int, to_level: int, today: dt.date) -> bool:
    claimed = Invoice.objects.filter(
        pk=invoice_id,
        kind=Invoice.Kind.INVOICE,
        status__in=OPEN_STATUSES,
        reminder_level=to_level - 1,
    ).update(reminder_level=to_level, last_reminded_on=today)
    if not claimed:
        return False
    if to_level in (LEVEL_FIRST, LEVEL_SECOND):
        invoice = Invoice.objects.select_related("household").get(pk=invoice_id)
        contact = household_contact(invoice.household, fallback_name=invoice.recipient_name)
        outbox_enqueue(
            key=reminder_key(to_level, invoice.pk),
            template="finance/email/reminder",
            context={
                "name": contact.name,
                "invoice": invoice,
                "level": to_level,
                "balance": invoice_balance(invoice),
                "pay_url": invoice_pay_url(invoice),
                **creditor_context(),
            },
            **contact.outbox_recipient(),
        )
    return True


def reminders_send(*, today: dt.date | None = None) -> ReminderResult:
    """Move every overdue invoice one step further; each step in its own small transaction."""
    today = today or timezone.localdate()
    result = ReminderResult()
    due = reminders_due(today=today)
    steps = ((LEVEL_FIRST, "first"), (LEVEL_SECOND, "second"), (LEVEL_CALL_LIST, "call_list"))
    for level, field in steps:
        for invoice_id in due[level]:
            if _reminder_advance(invoice_id=invoice_id, to_level=level, today=today):
                setattr(result, field, getattr(result, field) + 1)
    return result


@transaction.atomic
def reminder_settings_update(
    *, first_reminder_days: int, second_reminder_days: int, call_list_days: int
) -> FinanceSettings:
    settings = FinanceSettings.current()
    for name, value in (
        ("first_reminder_days", first_reminder_days),
        ("second_reminder_days", second_reminder_days),
        ("call_list_days", call_list_days),
    ):
        if not 1 <= int(value) <= 365:
            raise FinanceError(_("Kies een aantal dagen van 1 tot 365."))
        setattr(settings, name, int(value))
    settings.save()
    return settings
