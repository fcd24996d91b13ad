import datetime as dt
import logging
from typing import Any

from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import F
from django.utils import timezone, translation

from coop.lib.emails import render_email
from coop.lib.tasks import task_enqueue

from .models import NumberSequence, Organisation, OutboxMessage

logger = logging.getLogger(__name__)


def sequence_next(*, name: str, count: int = 1) -> int:
    """Reserve `count` numbers from the named sequence; returns the first. Call inside a transaction."""
    if count < 1:
        raise ValueError("count must be at least 1")
    with transaction.atomic():
        NumberSequence.objects.get_or_create(name=name)
        NumberSequence.objects.filter(name=name).update(last_value=F("last_value") + count)
        last = NumberSequence.objects.values_list("last_value", flat=True).get(name=name)
    return last - count + 1


def sequence_ensure_at_least(*, name: str, value: int) -> None:
    """Make sure the next number drawn is above `value` (after importing numbered records)."""
    with transaction.atomic():
        NumberSequence.objects.get_or_create(name=name)
        NumberSequence.objects.filter(name=name, last_value__lt=value).update(last_value=value)


@transaction.atomic
def outbox_enqueue(
    *,
    key: str,
    template: str,
    context: dict[str, Any],
    recipient_ref: str,
    to_name: str,
    to_email: str = "",
    to_address: str = "",
    language: str = "nl",
) -> tuple[OutboxMessage, bool]:
    """Queue a message once. E-mail when there is an address, else a letter to print.

    Returns the message and whether it was new; a second call with the same key changes nothing.
    """
    existing = OutboxMessage.objects.filter(key=key).first()
    if existing is not None:
        return existing, False
    with translation.override(language):
        rendered = render_email(template, {**context, "organisation": Organisation.current()})
    message, created = OutboxMessage.objects.get_or_create(
        key=key,
        defaults={
            "channel": OutboxMessage.Channel.EMAIL if to_email else OutboxMessage.Channel.LETTER,
            "template": template,
            "recipient_ref": recipient_ref,
            "to_name": to_name,
            "to_email": to_email,
            "to_address": to_address,
            "language": language,
            "subject": rendered.subject,
            "body_text": rendered.text,
            "body_html": rendered.html,
        },
    )
    if created and message.channel == OutboxMessage.Channel.EMAIL:
        task_enqueue("coop.core.tasks.outbox_send", message.pk)
    return message, created


def outbox_deliver(*, message_id: int) -> bool:
    """Send one queued e-mail. Safe to call twice: only the caller that claims the row sends it."""
    claimed = OutboxMessage.objects.filter(
        pk=message_id, channel=OutboxMessage.Channel.EMAIL, status=OutboxMessage.Status.PENDING
    ).update(status=OutboxMessage.Status.SENDING, attempts=F("attempts") + 1)
    if not claimed:
        return False
    message = OutboxMessage.objects.get(pk=message_id)
    email = EmailMultiAlternatives(
        subject=message.subject,
        body=message.body_text,
        to=[f"{message.to_name} <{message.to_email}>"],
    )
    if message.body_html:
        email.attach_alternative(message.body_html, "text/html")
    try:
        email.send()
    except Exception as exc:
        logger.warning("Sending outbox message %s failed: %s", message_id, exc)
        OutboxMessage.objects.filter(pk=message_id).update(
            status=OutboxMessage.Status.PENDING, last_error=str(exc)[:2000]
        )
        raise
    OutboxMessage.objects.filter(pk=message_id).update(
        status=OutboxMessage.Status.SENT, sent_at=timezone.now(), last_error=""
    )
    return True


@transaction.atomic
def outbox_mark_printed(*, message_ids: list[int]) -> int:
    return OutboxMessage.objects.filter(
        pk__in=message_ids,
        channel=OutboxMessage.Channel.LETTER,
        status=OutboxMessage.Status.PENDING,
    ).update(status=OutboxMessage.Status.PRINTED, sent_at=timezone.now())


def outbox_requeue_pending(*, older_than_minutes: int = 10) -> int:
    """Queue again the e-mails that a lost task left pending (the periodic safety net)."""
    cutoff = timezone.now() - dt.timedelta(minutes=older_than_minutes)
    ids = list(
        OutboxMessage.objects.filter(
            channel=OutboxMessage.Channel.EMAIL,
            status=OutboxMessage.Status.PENDING,
            created_at__lt=cutoff,
            attempts__lt=5,
        ).values_list("pk", flat=True)[:500]
    )
    for pk in ids:
        task_enqueue("coop.core.tasks.outbox_send", pk)
    return len(ids)
