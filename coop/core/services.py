import datetime as dt
import hashlib
import logging
import smtplib
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone, translation

from coop.lib.emails import render_email
from coop.lib.tasks import task_enqueue
from coop.lib.urls import site_host

from .form_tokens import FORM_TOKEN_MAX_AGE
from .models import FormSubmission, NumberSequence, Organisation, OutboxMessage
from .selectors import outbox_failed
from .tenancy import scope_organisation

logger = logging.getLogger(__name__)


def sequence_key(name: str) -> str:
    """The stored name of a sequence: each cooperative counts its own
    ('org3:members.member_number')."""
    organisation = scope_organisation()
    return f"org{organisation.pk}:{name}" if organisation is not None else name


def sequence_next(*, name: str, count: int = 1) -> int:
    """Reserve `count` numbers from the named sequence of the cooperative in scope; returns the
    first. Call inside a transaction."""
    if count < 1:
        raise ValueError("count must be at least 1")
    name = sequence_key(name)
    with transaction.atomic():
        NumberSequence.objects.get_or_create(name=name)
        NumberSequence.objects.filter(name=name).update(last_value=F("last_value") + count)
        last = NumberSequence.objects.values_list("last_value", flat=True).get(name=name)
    return last - count + 1


def sequence_ensure_at_least(*, name: str, value: int) -> None:
    """Make sure the next number drawn is above `value` (after importing numbered records)."""
    name = sequence_key(name)
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


def _lease_cutoff(now: dt.datetime) -> dt.datetime:
    """A claim made before this belongs to a worker that is gone (killed while sending)."""
    return now - dt.timedelta(seconds=settings.OUTBOX_CLAIM_LEASE_SECONDS)


def _claim_expired(*, now: dt.datetime) -> Q:
    return Q(
        status=OutboxMessage.Status.SENDING,
        claimed_at__lt=_lease_cutoff(now),
        attempts__lt=OutboxMessage.MAX_ATTEMPTS,
    )


def outbox_message_id(*, message: OutboxMessage) -> str:
    """The Message-ID header, the same on every attempt, so a receiving mail system can drop the
    copy sent again after a worker died between sending and recording it.

    Built from the row, never from the worker's host name (Django's default), and with a hash of
    the key so two installations, or a database built again, do not reuse each other's ids.
    """
    digest = hashlib.sha256(f"{message.pk}:{message.key}".encode()).hexdigest()[:16]
    domain = site_host()
    return f"<outbox-{message.pk}.{digest}@{domain}>"


def _is_permanent(exc: Exception) -> bool:
    """A 5xx answer from the mail server: sending the same message again gets the same answer."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _reply in exc.recipients.values()]
        return bool(codes) and all(code >= 500 for code in codes)
    return isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code >= 500


def outbox_deliver(*, message_id: int) -> bool:
    """Send one queued e-mail. Safe to call twice: only the caller that claims the row sends it.

    Not atomic on purpose: the claim must be committed before the send, so another worker sees it,
    and "sent" right after it, so the window in which a killed worker leaves a sent e-mail looking
    unsent is one UPDATE wide. A claim older than the lease belonged to such a worker and may be
    taken over; the Message-ID stays the same, so a copy sent twice can be recognised.
    """
    claimed_at = timezone.now()
    claimed = (
        OutboxMessage.objects.filter(pk=message_id, channel=OutboxMessage.Channel.EMAIL)
        .filter(Q(status=OutboxMessage.Status.PENDING) | _claim_expired(now=claimed_at))
        .update(
            status=OutboxMessage.Status.SENDING,
            claimed_at=claimed_at,
            attempts=F("attempts") + 1,
        )
    )
    if not claimed:
        return False
    message = OutboxMessage.objects.get(pk=message_id)
    email = EmailMultiAlternatives(
        subject=message.subject,
        body=message.body_text,
        to=[f"{message.to_name} <{message.to_email}>"],
        headers={"Message-ID": outbox_message_id(message=message)},
    )
    if message.body_html:
        email.attach_alternative(message.body_html, "text/html")
    try:
        email.send()
    except Exception as exc:
        final = _is_permanent(exc) or message.attempts >= OutboxMessage.MAX_ATTEMPTS
        # Only while the claim is still ours: a worker that took it over may have sent it by now.
        OutboxMessage.objects.filter(
            pk=message_id, status=OutboxMessage.Status.SENDING, claimed_at=claimed_at
        ).update(
            status=OutboxMessage.Status.FAILED if final else OutboxMessage.Status.PENDING,
            claimed_at=None,
            last_error=str(exc)[:2000],
        )
        if final:
            logger.error("Outbox message %s failed for good: %s", message_id, exc)
            return False
        logger.warning("Sending outbox message %s failed: %s", message_id, exc)
        raise
    OutboxMessage.objects.filter(pk=message_id).update(
        status=OutboxMessage.Status.SENT, sent_at=timezone.now(), claimed_at=None, last_error=""
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
    """Queue again the e-mails that a lost task left pending or a killed worker left claimed (the
    periodic safety net). A worker that died on an e-mail's last attempt ends it as failed, so an
    e-mail that kills its worker is not sent for ever."""
    now = timezone.now()
    emails = OutboxMessage.objects.filter(channel=OutboxMessage.Channel.EMAIL)
    emails.filter(
        status=OutboxMessage.Status.SENDING,
        claimed_at__lt=_lease_cutoff(now),
        attempts__gte=OutboxMessage.MAX_ATTEMPTS,
    ).update(
        status=OutboxMessage.Status.FAILED,
        claimed_at=None,
        last_error="The worker stopped while sending, on the last attempt.",
    )
    waiting = Q(
        status=OutboxMessage.Status.PENDING,
        created_at__lt=now - dt.timedelta(minutes=older_than_minutes),
    )
    ids = list(
        emails.filter(waiting | _claim_expired(now=now))
        .order_by("pk")
        .values_list("pk", flat=True)[:500]
    )
    for pk in ids:
        task_enqueue("coop.core.tasks.outbox_send", pk)
    return len(ids)


@transaction.atomic
def outbox_retry(*, message_id: int) -> bool:
    """Give a failed e-mail a fresh set of attempts, e.g. after the address or the mail server was
    put right. False when it is no longer failed (someone else retried it first)."""
    retried = (
        outbox_failed()
        .filter(pk=message_id)
        .update(status=OutboxMessage.Status.PENDING, attempts=0, claimed_at=None)
    )
    if retried:
        task_enqueue("coop.core.tasks.outbox_send", message_id)
    return bool(retried)


def form_submissions_purge() -> int:
    """Forget used form tokens that have expired anyway (the daily clean-up)."""
    cutoff = timezone.now() - dt.timedelta(seconds=FORM_TOKEN_MAX_AGE + 60 * 60)
    deleted, _by_model = FormSubmission.objects.filter(created_at__lt=cutoff).delete()
    return deleted
