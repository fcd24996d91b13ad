"""The member's own part of "download my data": who they are, where they live, their history.

Registered from MembersConfig.ready(); the contract is in coop/core/personal_data.py. Housemates
appear with name, number and status only: their own details are theirs to request.
"""

from allauth.account.models import EmailAddress
from django.utils.translation import gettext_lazy as _

from coop.core.models import OutboxMessage
from coop.core.personal_data import JSON, iso, register

from .models import AddressChange, Member, MembershipNotice, Move, StatusChange
from .selectors import household_housemates


@register("member", _("Uw gegevens en lidmaatschap"))
def member_data(member: Member) -> JSON:
    return {
        "number": member.number,
        "given_name": member.given_name,
        "tussenvoegsel": member.tussenvoegsel,
        "family_name": member.family_name,
        "email": member.email,
        "phone": member.phone,
        "date_of_birth": iso(member.date_of_birth),
        "language": member.language,
        "contact_preference": member.contact_preference,
        "status": member.status,
        "applied_on": iso(member.applied_on),
        "joined_on": iso(member.joined_on),
        "ended_on": iso(member.ended_on),
        "end_reason": member.end_reason,
        "created_at": iso(member.created_at),
        "updated_at": iso(member.updated_at),
    }


@register("account", _("Uw account om in te loggen"))
def account_data(member: Member) -> JSON:
    user = member.user
    if user is None:
        return None
    return {
        "email": user.email,
        "date_joined": iso(user.date_joined),
        "last_login": iso(user.last_login),
        "roles": sorted(user.roles),
        "email_addresses": [
            {"email": a.email, "verified": a.verified, "primary": a.primary}
            for a in EmailAddress.objects.filter(user=user).order_by("email")
        ],
    }


@register("household", _("Uw adres en huisgenoten"))
def household_data(member: Member) -> JSON:
    household = member.household
    return {
        "street": household.street,
        "house_number": household.house_number,
        "house_number_addition": household.house_number_addition,
        "postcode": household.postcode,
        "town": household.town,
        "country": household.country,
        "buurt": household.buurt.name if household.buurt else None,
        "created_at": iso(household.created_at),
        "housemates": [
            {"number": m.number, "name": m.full_name, "status": m.status}
            for m in household_housemates(member)
        ],
    }


@register("address_history", _("Eerdere adressen van uw huishouden"))
def address_history_data(member: Member) -> JSON:
    return [
        {
            "old_address": c.old_address,
            "new_address": c.new_address,
            "changed_on": iso(c.changed_on),
        }
        for c in AddressChange.objects.filter(household_id=member.household_id).order_by(
            "changed_on", "recorded_at"
        )
    ]


@register("status_history", _("Geschiedenis van uw lidmaatschap"))
def status_history_data(member: Member) -> JSON:
    return [
        {
            "from_status": c.from_status,
            "to_status": c.to_status,
            "effective_on": iso(c.effective_on),
            "reason": c.reason,
            "recorded_at": iso(c.recorded_at),
        }
        for c in StatusChange.objects.filter(member=member).order_by("recorded_at", "pk")
    ]


@register("moves", _("Uw verhuizingen"))
def moves_data(member: Member) -> JSON:
    return [
        {"from_address": m.from_address, "to_address": m.to_address, "moved_on": iso(m.moved_on)}
        for m in Move.objects.filter(member=member).order_by("moved_on", "recorded_at")
    ]


@register("consents", _("Uw toestemmingen"))
def consents_data(member: Member) -> JSON:
    return [
        {
            "key": c.consent_text.key,
            "version": c.consent_text.version,
            "title": c.consent_text.title,
            "text": c.consent_text.text,
            "published_on": iso(c.consent_text.published_on),
            "given_at": iso(c.given_at),
            "via": c.via,
            "withdrawn_at": iso(c.withdrawn_at),
        }
        for c in member.consents.select_related("consent_text").order_by("given_at", "pk")
    ]


@register("membership_notices", _("Uw opzeggingen"))
def membership_notices_data(member: Member) -> JSON:
    return [
        {
            "given_at": iso(n.given_at),
            "end_on": iso(n.end_on),
            "reason": n.reason,
            "status": n.status,
            "decided_at": iso(n.decided_at),
        }
        for n in MembershipNotice.objects.filter(member=member).order_by("given_at", "pk")
    ]


@register("messages", _("Berichten die wij u stuurden"))
def messages_data(member: Member) -> JSON:
    return [
        {
            "key": m.key,
            "subject": m.subject,
            "channel": m.channel,
            "status": m.status,
            "created_at": iso(m.created_at),
            "sent_at": iso(m.sent_at),
        }
        for m in OutboxMessage.objects.filter(recipient_ref=f"members.member:{member.pk}").order_by(
            "created_at", "pk"
        )
    ]
