"""Background work for finance. Each task takes ids, loads, and calls one service."""

from celery import shared_task
from django.utils import timezone

from .models import CollectionBatch, LedgerEntry
from .services.mandates import mandates_expire_unused
from .services.payments import payment_refund_surplus_automatically
from .services.receipts import receipts_queue
from .services.reminders import reminders_send
from .services.returns import collection_returns_notify
from .services.sepa import batch_prenotify


@shared_task
def batch_prenotify_task(batch_id: int) -> int:
    """Pre-notifications for a new direct debit batch (queued when the batch is created)."""
    batch = CollectionBatch.objects.filter(pk=batch_id).first()
    return batch_prenotify(batch=batch) if batch else 0


@shared_task
def returns_notify_task(item_ids: list[int]) -> int:
    """Messages to members whose direct debit came back (queued by a statement import)."""
    return collection_returns_notify(item_ids=item_ids)


@shared_task
def receipts_send_task(entry_ids: list[int]) -> int:
    """Receipts for the payments a bank statement booked (queued after the import commits)."""
    return receipts_queue(entries=LedgerEntry.objects.filter(pk__in=entry_ids))


@shared_task
def payment_refund_surplus_task(payment_id: int) -> str:
    """Refund what a double payment brought in (queued when it was booked, outside the webhook)."""
    return str(payment_refund_surplus_automatically(payment_id=payment_id))


@shared_task
def reminders_send_task() -> dict:
    """Daily: payment reminders and the call list (see finance.services.reminders)."""
    return reminders_send(today=timezone.localdate()).as_dict()


@shared_task
def mandates_expire_task() -> int:
    """Daily: mandates unused for 36 months expire."""
    return mandates_expire_unused(today=timezone.localdate())
