"""The outbox: every message queued once and sent once, a failed send retried later.

A worker that dies while sending leaves a claim that expires; the e-mail is then sent again with
the same Message-ID. An e-mail that keeps failing is shown to the coordinator and the treasurer.
"""

import datetime as dt
import email
import socket
import socketserver
import threading

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from coop.core.models import Organisation, OutboxMessage
from coop.core.services import (
    outbox_deliver,
    outbox_enqueue,
    outbox_message_id,
    outbox_requeue_pending,
)
from coop.lib.emails import render_email
from members.models import Member
from members.services import member_change_status

from .conftest import make_persona
from .factories import HouseholdFactory, MemberFactory

pytestmark = pytest.mark.django_db


class _SMTPHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP for Django's backend: keeps every message it is sent and accepts it, or
    gives the next of `server.data_replies` ("451 ..." to refuse for now, "550 ..." for good)."""

    def handle(self):
        self.wfile.write(b"220 localhost ESMTP test sink\r\n")
        in_data, lines = False, []
        for line in self.rfile:
            if in_data:
                if line.rstrip(b"\r\n") == b".":
                    self.server.messages.append(b"".join(lines).decode("utf-8", "replace"))
                    in_data, lines = False, []
                    replies = self.server.data_replies
                    self.wfile.write(replies.pop(0) if replies else b"250 OK queued\r\n")
                else:
                    lines.append(line[1:] if line.startswith(b"..") else line)
                continue
            command = line[:4].upper()
            if command in (b"EHLO", b"HELO"):
                self.wfile.write(b"250 localhost\r\n")
            elif command == b"DATA":
                in_data = True
                self.wfile.write(b"354 End data with <CR><LF>.<CR><LF>\r\n")
            elif command == b"QUIT":
                self.wfile.write(b"221 Bye\r\n")
                return
            else:  # MAIL, RCPT, RSET, NOOP
                self.wfile.write(b"250 OK\r\n")


@pytest.fixture
def smtp_server():
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _SMTPHandler)
    server.daemon_threads = True
    server.messages = []
    server.data_replies = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _use_smtp(settings, port: int) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5


def _enqueue_welcome(member: Member) -> tuple[OutboxMessage, bool]:
    return outbox_enqueue(
        key=f"members.welcome:{member.pk}",
        template="members/email/welcome",
        context={"member": member, "household": member.household},
        recipient_ref=f"members.member:{member.pk}",
        to_name=member.full_name,
        to_email=member.email,
        to_address="\n".join(member.household.address_lines),
        language=member.language,
    )


def _applied(**kwargs) -> Member:
    return MemberFactory(status=Member.Status.APPLIED, joined_on=None, **kwargs)


def test_enqueue_twice_with_the_same_key_makes_one_row_and_one_email(
    django_capture_on_commit_callbacks, mailoutbox
):
    member = MemberFactory(email="greet@example.org")
    with django_capture_on_commit_callbacks(execute=True):
        first, first_created = _enqueue_welcome(member)
        second, second_created = _enqueue_welcome(member)

    assert (first_created, second_created) == (True, False)
    assert first.pk == second.pk
    assert OutboxMessage.objects.filter(key=f"members.welcome:{member.pk}").count() == 1
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == [f"{member.full_name} <greet@example.org>"]
    first.refresh_from_db()
    assert first.status == OutboxMessage.Status.SENT


def test_activating_again_after_cancelling_does_not_welcome_twice(
    django_capture_on_commit_callbacks, mailoutbox
):
    member = _applied(email="again@example.org")
    with django_capture_on_commit_callbacks(execute=True):
        member_change_status(member=member, to_status=Member.Status.ACTIVE)
        member_change_status(member=member, to_status=Member.Status.CANCELLED, reason="Verhuisd")
        member_change_status(member=member, to_status=Member.Status.ACTIVE)

    assert OutboxMessage.objects.filter(recipient_ref=f"members.member:{member.pk}").count() == 1
    assert len(mailoutbox) == 1


def test_deliver_twice_sends_once(django_capture_on_commit_callbacks, mailoutbox):
    member = MemberFactory(email="once@example.org")
    with django_capture_on_commit_callbacks(execute=False):
        message, _ = _enqueue_welcome(member)
    assert mailoutbox == []

    assert outbox_deliver(message_id=message.pk) is True
    assert outbox_deliver(message_id=message.pk) is False

    assert len(mailoutbox) == 1
    message.refresh_from_db()
    assert message.status == OutboxMessage.Status.SENT
    assert message.attempts == 1
    assert message.sent_at is not None


def test_deliver_skips_a_message_another_worker_has_claimed(
    django_capture_on_commit_callbacks, mailoutbox
):
    member = MemberFactory(email="claimed@example.org")
    with django_capture_on_commit_callbacks(execute=False):
        message, _ = _enqueue_welcome(member)
    OutboxMessage.objects.filter(pk=message.pk).update(
        status=OutboxMessage.Status.SENDING, claimed_at=timezone.now()
    )

    assert outbox_deliver(message_id=message.pk) is False
    assert mailoutbox == []
    message.refresh_from_db()
    assert message.status == OutboxMessage.Status.SENDING
    assert message.attempts == 0


def test_failed_smtp_send_stays_pending_and_a_later_delivery_sends_it(
    settings, smtp_server, django_capture_on_commit_callbacks
):
    member = MemberFactory(email="later@example.org")
    with django_capture_on_commit_callbacks(execute=False):
        message, _ = _enqueue_welcome(member)

    _use_smtp(settings, _closed_port())
    with pytest.raises(OSError):
        outbox_deliver(message_id=message.pk)
    message.refresh_from_db()
    assert message.status == OutboxMessage.Status.PENDING
    assert message.last_error
    assert message.attempts == 1
    assert smtp_server.messages == []

    _use_smtp(settings, smtp_server.server_address[1])
    assert outbox_deliver(message_id=message.pk) is True
    message.refresh_from_db()
    assert message.status == OutboxMessage.Status.SENT
    assert message.last_error == ""
    assert message.attempts == 2
    assert len(smtp_server.messages) == 1
    assert "later@example.org" in smtp_server.messages[0]


def test_welcome_for_a_member_without_email_becomes_a_letter(
    django_capture_on_commit_callbacks, mailoutbox
):
    household = HouseholdFactory(
        street="Kerkweg", house_number=7, postcode="7911 CD", town="Hollandscheveld"
    )
    member = _applied(email="", household=household)
    with django_capture_on_commit_callbacks(execute=True):
        member_change_status(member=member, to_status=Member.Status.ACTIVE)

    letter = OutboxMessage.objects.get(key=f"members.welcome:{member.pk}")
    assert letter.channel == OutboxMessage.Channel.LETTER
    assert letter.status == OutboxMessage.Status.PENDING
    assert letter.to_email == ""
    assert "Kerkweg 7" in letter.to_address
    assert "7911 CD" in letter.to_address
    assert str(member.number) in letter.body_text
    assert mailoutbox == []
    assert outbox_deliver(message_id=letter.pk) is False


def test_member_who_prefers_letters_gets_a_letter_even_with_an_email_address(
    django_capture_on_commit_callbacks, mailoutbox
):
    member = _applied(email="paper@example.org", contact_preference=Member.ContactPreference.LETTER)
    with django_capture_on_commit_callbacks(execute=True):
        member_change_status(member=member, to_status=Member.Status.ACTIVE)

    letter = OutboxMessage.objects.get(key=f"members.welcome:{member.pk}")
    assert letter.channel == OutboxMessage.Channel.LETTER
    assert mailoutbox == []


@pytest.mark.parametrize("language", ["en", "nl"])
def test_welcome_is_rendered_in_the_members_language(
    language, django_capture_on_commit_callbacks, mailoutbox
):
    Organisation.objects.create(
        name="Buurtcoöperatie Zuid", phone="055 123 45 67", email="info@zuid.example"
    )
    member = _applied(email=f"taal-{language}@example.org", language=language)
    with django_capture_on_commit_callbacks(execute=True):
        member_change_status(member=member, to_status=Member.Status.ACTIVE)

    message = OutboxMessage.objects.get(key=f"members.welcome:{member.pk}")
    assert message.language == language
    member.refresh_from_db()
    with translation.override(language):
        expected = render_email(
            "members/email/welcome",
            {
                "member": member,
                "household": member.household,
                "organisation": Organisation.current(),
            },
        )
    assert message.subject == expected.subject
    assert message.body_text == expected.text
    # The HTML is rendered with that language active, whatever the language of the request.
    assert f'<html lang="{language}">' in message.body_html
    assert mailoutbox[0].subject == expected.subject
    assert "Buurtcoöperatie Zuid" in message.subject
    assert str(member.number) in message.body_text
    assert "055 123 45 67" in message.body_text


# --- A worker that died while sending, and e-mails that keep failing ------------------------------


def _queued(address: str, django_capture_on_commit_callbacks) -> OutboxMessage:
    """An e-mail in the outbox whose task never ran."""
    with django_capture_on_commit_callbacks(execute=False):
        message, _ = _enqueue_welcome(MemberFactory(email=address))
    return message


def _claimed(message: OutboxMessage, *, seconds_ago: float, attempts: int = 1) -> None:
    """As a worker leaves it when it is killed after claiming, before sending."""
    OutboxMessage.objects.filter(pk=message.pk).update(
        status=OutboxMessage.Status.SENDING,
        claimed_at=timezone.now() - dt.timedelta(seconds=seconds_ago),
        attempts=attempts,
        created_at=timezone.now() - dt.timedelta(hours=1),
    )


def test_an_expired_claim_is_taken_up_by_the_requeue_and_sent_once(
    settings, django_capture_on_commit_callbacks, mailoutbox
):
    settings.OUTBOX_CLAIM_LEASE_SECONDS = 300
    message = _queued("verlopen@example.org", django_capture_on_commit_callbacks)
    _claimed(message, seconds_ago=301)

    with django_capture_on_commit_callbacks(execute=True):
        assert outbox_requeue_pending() == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert outbox_requeue_pending() == 0

    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == [f"{message.to_name} <verlopen@example.org>"]
    message.refresh_from_db()
    assert message.status == OutboxMessage.Status.SENT
    assert message.attempts == 2
    assert message.claimed_at is None


def test_a_fresh_claim_is_left_alone(settings, django_capture_on_commit_callbacks, mailoutbox):
    settings.OUTBOX_CLAIM_LEASE_SECONDS = 300
    message = _queued("bezig@example.org", django_capture_on_commit_callbacks)
    _claimed(message, seconds_ago=290)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert outbox_requeue_pending() == 0
    assert callbacks == []
    assert outbox_deliver(message_id=message.pk) is False

    assert mailoutbox == []
    message.refresh_from_db()
    assert message.status == OutboxMessage.Status.SENDING
    assert message.attempts == 1


def test_a_worker_killed_on_the_last_attempt_leaves_a_failed_email(
    settings, django_capture_on_commit_callbacks, mailoutbox
):
    settings.OUTBOX_CLAIM_LEASE_SECONDS = 300
    message = _queued("laatste@example.org", django_capture_on_commit_callbacks)
    _claimed(message, seconds_ago=301, attempts=OutboxMessage.MAX_ATTEMPTS)

    assert outbox_deliver(message_id=message.pk) is False
    with django_capture_on_commit_callbacks(execute=True):
        assert outbox_requeue_pending() == 0

    assert mailoutbox == []
    message.refresh_from_db()
    assert message.status == OutboxMessage.Status.FAILED
    assert message.last_error


def test_the_message_id_is_the_same_on_every_attempt(
    settings, smtp_server, django_capture_on_commit_callbacks
):
    settings.SITE_URL = "https://leden.zuiderpark.example"
    message = _queued("tweemaal@example.org", django_capture_on_commit_callbacks)
    other = _queued("ander@example.org", django_capture_on_commit_callbacks)
    _use_smtp(settings, smtp_server.server_address[1])
    # The server takes in the first copy and then answers "try later": the copy may have arrived.
    smtp_server.data_replies.append(b"451 Try again later\r\n")

    with pytest.raises(OSError):
        outbox_deliver(message_id=message.pk)
    assert outbox_deliver(message_id=message.pk) is True

    first, second = (email.message_from_string(raw) for raw in smtp_server.messages)
    assert first["Message-ID"] == second["Message-ID"] == outbox_message_id(message=message)
    assert first["Message-ID"].startswith(f"<outbox-{message.pk}.")
    assert first["Message-ID"].endswith("@leden.zuiderpark.example>")
    assert outbox_message_id(message=other) != first["Message-ID"]
    message.refresh_from_db()
    assert message.status == OutboxMessage.Status.SENT
    assert message.attempts == 2


def test_a_refused_email_fails_at_once(settings, smtp_server, django_capture_on_commit_callbacks):
    message = _queued("geweigerd@example.org", django_capture_on_commit_callbacks)
    _use_smtp(settings, smtp_server.server_address[1])
    smtp_server.data_replies.append(b"550 Mailbox unavailable\r\n")

    assert outbox_deliver(message_id=message.pk) is False

    message.refresh_from_db()
    assert message.status == OutboxMessage.Status.FAILED
    assert message.attempts == 1
    assert "Mailbox unavailable" in message.last_error


def _fail_until_given_up(settings, message: OutboxMessage) -> None:
    _use_smtp(settings, _closed_port())
    for _attempt in range(OutboxMessage.MAX_ATTEMPTS - 1):
        with pytest.raises(OSError):
            outbox_deliver(message_id=message.pk)
    assert outbox_deliver(message_id=message.pk) is False
    message.refresh_from_db()


def test_an_email_that_keeps_failing_is_listed_for_the_coordinator_and_the_treasurer(
    settings, client, django_capture_on_commit_callbacks
):
    message = _queued("mislukt@example.org", django_capture_on_commit_callbacks)
    _fail_until_given_up(settings, message)
    assert message.status == OutboxMessage.Status.FAILED
    assert message.attempts == OutboxMessage.MAX_ATTEMPTS
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert outbox_requeue_pending(older_than_minutes=0) == 0
    assert callbacks == []

    url = reverse("dashboard:outbox_failed")
    for persona in ("coordinator", "treasurer"):
        client.force_login(make_persona(persona))
        page = client.get(url).content.decode()
        assert "mislukt@example.org" in page, persona
        assert message.subject in page
        assert message.last_error[:40] in page
        assert reverse("dashboard:outbox_retry", args=[message.pk]) in page
        assert f'href="{url}"' in page  # the menu shows the way here

    client.force_login(make_persona("member"))
    assert client.get(url).status_code == 403
    assert f'href="{url}"' not in client.get(reverse("members:portal")).content.decode()


def test_retry_from_the_page_sends_it(
    settings, client, django_capture_on_commit_callbacks, mailoutbox
):
    message = _queued("nogmaals@example.org", django_capture_on_commit_callbacks)
    _fail_until_given_up(settings, message)
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    client.force_login(make_persona("treasurer"))

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("dashboard:outbox_retry", args=[message.pk]))

    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard:outbox_failed")
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == [f"{message.to_name} <nogmaals@example.org>"]
    message.refresh_from_db()
    assert message.status == OutboxMessage.Status.SENT
    assert message.attempts == 1
    assert message.last_error == ""
    page = client.get(reverse("dashboard:outbox_failed")).content.decode()
    assert "nogmaals@example.org" not in page

    # Pressing the button again (a second tab) sends nothing more.
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("dashboard:outbox_retry", args=[message.pk]))
    assert len(mailoutbox) == 1
