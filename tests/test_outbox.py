"""The outbox: every message queued once, sent at most once, a failed send retried later."""

import socket
import socketserver
import threading

import pytest
from django.utils import translation

from coop.core.models import Organisation, OutboxMessage
from coop.core.services import outbox_deliver, outbox_enqueue
from coop.lib.emails import render_email
from members.models import Member
from members.services import member_change_status

from .factories import HouseholdFactory, MemberFactory

pytestmark = pytest.mark.django_db


class _SMTPHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP for Django's backend: accepts every message and keeps it."""

    def handle(self):
        self.wfile.write(b"220 localhost ESMTP test sink\r\n")
        in_data, lines = False, []
        for line in self.rfile:
            if in_data:
                if line.rstrip(b"\r\n") == b".":
                    self.server.messages.append(b"".join(lines).decode("utf-8", "replace"))
                    in_data, lines = False, []
                    self.wfile.write(b"250 OK queued\r\n")
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
    OutboxMessage.objects.filter(pk=message.pk).update(status=OutboxMessage.Status.SENDING)

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
