"""Who in a household hears about its money, and how: e-mail or a printed letter.

Messages are sent now, so they use the household as it is now (the invoice keeps its own copy of
the name and address for the document itself).
"""

from __future__ import annotations

from dataclasses import dataclass

from members.models import Household, Member


@dataclass(frozen=True)
class Contact:
    name: str
    email: str  # empty: a letter is printed
    address: str
    language: str
    recipient_ref: str
    member: Member | None

    def outbox_recipient(self) -> dict[str, str]:
        """The recipient arguments of `outbox_enqueue`."""
        return {
            "recipient_ref": self.recipient_ref,
            "to_name": self.name,
            "to_email": self.email,
            "to_address": self.address,
            "language": self.language,
        }


def _rank(member: Member) -> tuple:
    return (member.joined_on or member.applied_on, member.number)


def household_contact(
    household: Household, *, members: list[Member] | None = None, fallback_name: str = ""
) -> Contact:
    """The first current member who wants e-mail gets it; otherwise a letter to the first member.

    Pass `members` (the household's members, prefetched) when sending many messages at once.
    """
    if members is None:
        members = list(household.members.all())
    current = sorted((m for m in members if m.is_current), key=_rank)
    address = "\n".join(household.address_lines)
    for member in current:
        if member.email and member.contact_preference == Member.ContactPreference.EMAIL:
            return Contact(
                name=member.full_name,
                email=member.email,
                address=address,
                language=member.language,
                recipient_ref=f"members.member:{member.pk}",
                member=member,
            )
    first = current[0] if current else None
    return Contact(
        name=first.full_name if first else fallback_name,
        email="",
        address=address,
        language=first.language if first else "nl",
        recipient_ref=f"members.member:{first.pk}"
        if first
        else f"members.household:{household.pk}",
        member=first,
    )


def invoice_pay_url(invoice) -> str:
    """A link for e-mails and letters: paying the invoice online, else the member's invoice list."""
    from django.urls import NoReverseMatch, reverse

    from coop.lib.urls import site_url

    try:
        path = reverse("finance:invoice_pay", args=[invoice.pk])
    except NoReverseMatch:
        try:
            path = reverse("finance:my_invoices")
        except NoReverseMatch:
            path = "/mijn/"
    return site_url(path)


def creditor_context() -> dict[str, str]:
    """Who the member pays: name, account (formatted) and incassant-ID, for messages."""
    from django.conf import settings

    from coop.core.models import Organisation

    iban = settings.SEPA_CREDITOR_IBAN.replace(" ", "").upper()
    return {
        "creditor_name": settings.SEPA_CREDITOR_NAME or Organisation.current().name,
        "creditor_iban": " ".join(iban[i : i + 4] for i in range(0, len(iban), 4)),
        "creditor_id": settings.SEPA_CREDITOR_ID,
    }
