"""Paper: reading and assembling the documents a coordinator prints.

Letters in the outbox were rendered when they were queued and keep their own text and address, so
a reprint shows what was sent. The welcome letter for a member is issued when it is printed and
renders from the member's data at that moment.
"""

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.utils import timezone, translation

from coop.core.models import Organisation, OutboxMessage
from coop.lib.pdf import render_pdf

from .models import Buurt, Household, Member

RECENTLY_PRINTED_DAYS = 30
CURRENT_STATUSES = (Member.Status.APPLIED, Member.Status.ACTIVE)


# Welcome letter and membership card -------------------------------------------------------------


def welcome_letter_context(*, member: Member, issued_on: dt.date | None = None) -> dict[str, Any]:
    household = member.household
    return {
        "organisation": Organisation.current(),
        "member": member,
        "household": household,
        "address_lines": household.address_lines,
        "issued_on": issued_on or timezone.localdate(),
    }


def welcome_letter_pdf(*, member: Member) -> bytes:
    """The welcome letter with a membership card to cut out, in the member's own language."""
    with translation.override(member.language):
        return render_pdf("members/pdf/welcome_letter.html", welcome_letter_context(member=member))


# Member list per buurt ----------------------------------------------------------------------------


def buurt_households_with_members(*, buurt: Buurt) -> list[Household]:
    """The buurt's addresses with current members, in walking order: street, number, addition.

    Each household gets `current_members` (applied or active, by name).
    """
    current = Member.objects.current().order_by("sort_name", "number")
    households = (
        Household.objects.filter(buurt=buurt, members__status__in=CURRENT_STATUSES)
        .distinct()
        .order_by("street", "house_number", "house_number_addition", "pk")
        .prefetch_related(Prefetch("members", queryset=current, to_attr="current_members"))
    )
    return list(households)


def buurt_member_list_context(*, buurt: Buurt, issued_on: dt.date | None = None) -> dict[str, Any]:
    households = buurt_households_with_members(buurt=buurt)
    return {
        "organisation": Organisation.current(),
        "buurt": buurt,
        "households": households,
        "member_count": sum(len(h.current_members) for h in households),
        "issued_on": issued_on or timezone.localdate(),
    }


def buurt_member_list_pdf(*, buurt: Buurt) -> bytes:
    return render_pdf("members/pdf/buurt_member_list.html", buurt_member_list_context(buurt=buurt))


# Letters waiting to be printed -----------------------------------------------------------------


def letters_pending() -> QuerySet[OutboxMessage]:
    return OutboxMessage.objects.filter(
        channel=OutboxMessage.Channel.LETTER, status=OutboxMessage.Status.PENDING
    ).order_by("created_at", "pk")


def letters_recently_printed(*, days: int = RECENTLY_PRINTED_DAYS) -> QuerySet[OutboxMessage]:
    since = timezone.now() - dt.timedelta(days=days)
    return OutboxMessage.objects.filter(
        channel=OutboxMessage.Channel.LETTER,
        status=OutboxMessage.Status.PRINTED,
        sent_at__gte=since,
    ).order_by("-sent_at", "-pk")


def letters_for_print(
    *, up_to_id: int | None = None, ids: list[int] | None = None
) -> list[OutboxMessage]:
    """The letters for one print run.

    Without `ids`: every pending letter up to `up_to_id` (the newest one the coordinator saw), so a
    letter queued after the page was shown is neither printed nor marked printed unseen. With
    `ids`: those letters, pending or printed (a reprint).
    """
    if ids is not None:
        letters = OutboxMessage.objects.filter(
            pk__in=ids,
            channel=OutboxMessage.Channel.LETTER,
            status__in=[OutboxMessage.Status.PENDING, OutboxMessage.Status.PRINTED],
        ).order_by("created_at", "pk")
    else:
        letters = letters_pending()
        if up_to_id is not None:
            letters = letters.filter(pk__lte=up_to_id)
    return list(letters)


@dataclass(frozen=True)
class PrintedLetter:
    """What one page shows: the text and address stored when the letter was queued."""

    to_name: str
    address_lines: list[str]
    subject: str
    body_text: str
    language: str
    reference: str
    dated: dt.date


def letters_pdf(*, letters: list[OutboxMessage]) -> bytes:
    """All letters in one PDF, one letter per page, each with the letterhead."""
    today = timezone.localdate()
    pages = [
        PrintedLetter(
            to_name=letter.to_name,
            address_lines=[line for line in letter.to_address.splitlines() if line.strip()],
            subject=letter.subject,
            body_text=letter.body_text,
            language=letter.language or "nl",
            reference=str(letter.pk),
            dated=timezone.localdate(letter.sent_at) if letter.sent_at else today,
        )
        for letter in letters
    ]
    return render_pdf(
        "members/pdf/letters.html", {"organisation": Organisation.current(), "letters": pages}
    )
