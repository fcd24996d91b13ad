"""Every change to members, households and buurten goes through these functions."""

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from coop.accounts.models import User
from coop.accounts.roles import Role
from coop.accounts.services import user_grant_roles
from coop.core.services import outbox_enqueue, sequence_next
from coop.lib.numbers import is_ascii_digits
from coop.lib.phone import phone_digits
from coop.lib.postcode import normalise_postcode

from .models import (
    AddressChange,
    Buurt,
    Consent,
    ConsentText,
    Household,
    Member,
    MembershipNotice,
    Move,
    PostcodeRange,
    SignupApplication,
    StatusChange,
)

MEMBER_NUMBER_SEQUENCE = "members.member_number"


class MembershipError(Exception):
    """A change the rules do not allow; the message is meant for the person who tried it."""


# Buurten ------------------------------------------------------------------------------------


def buurt_for_postcode(postcode: str) -> Buurt | None:
    found = (
        PostcodeRange.objects.filter(start__lte=postcode, end__gte=postcode)
        .select_related("buurt")
        .order_by("start")
        .first()
    )
    return found.buurt if found else None


def _range_bound(value: str, *, upper: bool) -> str:
    """'1234' -> '1234 AA' (or '1234 ZZ' as upper bound); full postcodes are normalised."""
    value = (value or "").strip()
    if len(value) == 4 and is_ascii_digits(value):
        value = f"{value}{'ZZ' if upper else 'AA'}"
    return normalise_postcode(value)


@transaction.atomic
def buurt_create(*, name: str, description: str = "") -> Buurt:
    return Buurt.objects.create(name=name.strip(), description=description)


@transaction.atomic
def postcode_range_add(*, buurt: Buurt, start: str, end: str) -> PostcodeRange:
    """Add postcodes to a buurt ('1234' means the whole of 1234 AA–ZZ); ranges may not overlap."""
    start_pc, end_pc = _range_bound(start, upper=False), _range_bound(end or start, upper=True)
    if start_pc > end_pc:
        raise MembershipError(_("De eerste postcode moet vóór de laatste komen."))
    list(Buurt.objects.select_for_update().filter(pk=buurt.pk))
    clash = (
        PostcodeRange.objects.filter(start__lte=end_pc, end__gte=start_pc)
        .select_related("buurt")
        .first()
    )
    if clash:
        raise MembershipError(
            _("Deze postcodes overlappen met %(range)s van buurt %(buurt)s.")
            % {"range": clash, "buurt": clash.buurt}
        )
    created = PostcodeRange.objects.create(buurt=buurt, start=start_pc, end=end_pc)
    households_assign_buurt(postcode_from=start_pc, postcode_to=end_pc)
    return created


@transaction.atomic
def postcode_range_remove(*, postcode_range: PostcodeRange) -> None:
    start, end = postcode_range.start, postcode_range.end
    postcode_range.delete()
    households_assign_buurt(postcode_from=start, postcode_to=end)


def households_assign_buurt(*, postcode_from: str, postcode_to: str) -> int:
    """Recompute the buurt of every household with a postcode in the given range."""
    changed = 0
    households = Household.objects.filter(postcode__gte=postcode_from, postcode__lte=postcode_to)
    ranges = list(
        PostcodeRange.objects.filter(start__lte=postcode_to, end__gte=postcode_from).order_by(
            "start"
        )
    )
    for postcode in households.values_list("postcode", flat=True).distinct():
        buurt_id = next((r.buurt_id for r in ranges if r.start <= postcode <= r.end), None)
        same = Q(buurt__isnull=True) if buurt_id is None else Q(buurt_id=buurt_id)
        changed += (
            Household.objects.filter(postcode=postcode).exclude(same).update(buurt_id=buurt_id)
        )
    return changed


# Households ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Address:
    street: str
    house_number: int
    postcode: str
    town: str
    house_number_addition: str = ""

    def normalised(self) -> "Address":
        return Address(
            street=self.street.strip(),
            house_number=int(self.house_number),
            house_number_addition=self.house_number_addition.strip(),
            postcode=normalise_postcode(self.postcode),
            town=self.town.strip(),
        )


@transaction.atomic
def household_create(*, address: Address) -> Household:
    address = address.normalised()
    return Household.objects.create(
        street=address.street,
        house_number=address.house_number,
        house_number_addition=address.house_number_addition,
        postcode=address.postcode,
        town=address.town,
        buurt=buurt_for_postcode(address.postcode),
    )


@transaction.atomic
def household_change_address(
    *,
    household: Household,
    address: Address,
    changed_on: dt.date | None = None,
    by: User | None = None,
) -> Household:
    """Record a move of the whole household; the old address stays in its history."""
    address = address.normalised()
    household = Household.objects.select_for_update().get(pk=household.pk)
    old = household.address_line
    household.street = address.street
    household.house_number = address.house_number
    household.house_number_addition = address.house_number_addition
    household.postcode = address.postcode
    household.town = address.town
    household.buurt = buurt_for_postcode(address.postcode)
    household.save()
    if household.address_line != old:
        AddressChange.objects.create(
            household=household,
            old_address=old,
            new_address=household.address_line,
            changed_on=changed_on or timezone.localdate(),
            recorded_by=by,
        )
    return household


# Members ------------------------------------------------------------------------------------


def _names(given_name: str, tussenvoegsel: str, family_name: str) -> tuple[str, str]:
    """(sort_name, search_name): 'Jan van der Berg' sorts as 'berg, jan van der'."""
    sort_name = f"{family_name}, {given_name} {tussenvoegsel}".strip().lower()
    search_name = " ".join(p for p in (given_name, tussenvoegsel, family_name) if p).lower()
    return sort_name, search_name


def email_in_use(email: str, *, exclude_member: Member | None = None) -> bool:
    if not email:
        return False
    members = Member.objects.filter(email__iexact=email)
    if exclude_member is not None:
        members = members.exclude(pk=exclude_member.pk)
    return members.exists()


@dataclass(frozen=True)
class Person:
    given_name: str
    family_name: str
    tussenvoegsel: str = ""
    email: str = ""
    phone: str = ""
    date_of_birth: dt.date | None = None
    language: str = Member.Language.NL
    contact_preference: str = ""


@transaction.atomic
def member_register(
    *,
    household: Household,
    person: Person,
    by: User | None = None,
    user: User | None = None,
    applied_on: dt.date | None = None,
) -> Member:
    """Register a resident as an applied member with a fresh member number."""
    email = person.email.strip().lower()
    if email_in_use(email):
        raise MembershipError(
            _("Er is al een lid met het e-mailadres %(email)s.") % {"email": email}
        )
    sort_name, search_name = _names(person.given_name, person.tussenvoegsel, person.family_name)
    phone = person.phone.strip()
    member = Member.objects.create(
        number=sequence_next(name=MEMBER_NUMBER_SEQUENCE),
        household=household,
        user=user,
        given_name=person.given_name.strip(),
        tussenvoegsel=person.tussenvoegsel.strip(),
        family_name=person.family_name.strip(),
        sort_name=sort_name,
        search_name=search_name,
        email=email,
        phone=phone,
        phone_digits=phone_digits(phone),
        date_of_birth=person.date_of_birth,
        language=person.language,
        contact_preference=person.contact_preference
        or (Member.ContactPreference.EMAIL if email else Member.ContactPreference.LETTER),
        status=Member.Status.APPLIED,
        applied_on=applied_on or timezone.localdate(),
        created_by=by,
    )
    StatusChange.objects.create(
        member=member,
        to_status=Member.Status.APPLIED,
        effective_on=member.applied_on,
        changed_by=by,
    )
    if user is not None:
        user_grant_roles(user=user, roles=[Role.MEMBER])
    return member


@transaction.atomic
def member_update(*, member: Member, person: Person, by: User | None = None) -> Member:
    email = person.email.strip().lower()
    if email_in_use(email, exclude_member=member):
        raise MembershipError(
            _("Er is al een lid met het e-mailadres %(email)s.") % {"email": email}
        )
    member.given_name = person.given_name.strip()
    member.tussenvoegsel = person.tussenvoegsel.strip()
    member.family_name = person.family_name.strip()
    member.sort_name, member.search_name = _names(
        member.given_name, member.tussenvoegsel, member.family_name
    )
    member.email = email
    member.phone = person.phone.strip()
    member.phone_digits = phone_digits(member.phone)
    member.date_of_birth = person.date_of_birth
    member.language = person.language
    member.contact_preference = person.contact_preference or member.contact_preference
    member.save()
    return member


@transaction.atomic
def member_change_status(
    *,
    member: Member,
    to_status: str,
    effective_on: dt.date | None = None,
    reason: str = "",
    by: User | None = None,
) -> Member:
    """Move a membership along its lifecycle; an activation queues the welcome message."""
    member = Member.objects.select_for_update().get(pk=member.pk)
    if to_status not in member.allowed_transitions():
        raise MembershipError(
            _("Een lid met status %(from)s kan niet naar %(to)s.")
            % {"from": member.get_status_display(), "to": Member.Status(to_status).label}
        )
    if to_status in Member.ENDED and not reason.strip():
        raise MembershipError(_("Geef een reden voor het einde van het lidmaatschap."))
    effective_on = effective_on or timezone.localdate()
    from_status = member.status
    member.status = to_status
    if to_status == Member.Status.ACTIVE:
        member.joined_on = (
            member.joined_on
            if from_status == Member.Status.APPLIED and member.joined_on
            else effective_on
        )
        member.ended_on = None
        member.end_reason = ""
    elif to_status in Member.ENDED:
        member.ended_on = effective_on
        member.end_reason = reason.strip()
    member.save()
    StatusChange.objects.create(
        member=member,
        from_status=from_status,
        to_status=to_status,
        effective_on=effective_on,
        reason=reason.strip(),
        changed_by=by,
    )
    if to_status == Member.Status.ACTIVE:
        member_queue_welcome(member=member)
    elif to_status in Member.ENDED:
        _notices_settle(member=member, to_status=to_status, by=by)
    return member


def member_queue_welcome(*, member: Member) -> None:
    """The welcome message, once per member: an e-mail, or a letter to print when they have none."""
    by_email = bool(member.email) and member.contact_preference == Member.ContactPreference.EMAIL
    outbox_enqueue(
        key=f"members.welcome:{member.pk}",
        template="members/email/welcome",
        context={"member": member, "household": member.household},
        recipient_ref=f"members.member:{member.pk}",
        to_name=member.full_name,
        to_email=member.email if by_email else "",
        to_address="\n".join(member.household.address_lines),
        language=member.language,
    )


@transaction.atomic
def member_move(
    *,
    member: Member,
    to_household: Household,
    moved_on: dt.date | None = None,
    by: User | None = None,
) -> Member:
    """Move a member to another household; the member keeps their number and history."""
    member = Member.objects.select_for_update().select_related("household").get(pk=member.pk)
    if member.household_id == to_household.pk:
        raise MembershipError(_("Dit lid woont al op dit adres."))
    Move.objects.create(
        member=member,
        from_address=member.household.address_line,
        to_household=to_household,
        to_address=to_household.address_line,
        moved_on=moved_on or timezone.localdate(),
        recorded_by=by,
    )
    member.household = to_household
    member.save(update_fields=["household", "updated_at"])
    return member


@transaction.atomic
def member_link_user(*, member: Member, user: User) -> Member:
    if Member.objects.filter(user=user).exclude(pk=member.pk).exists():
        raise MembershipError(_("Dit account hoort al bij een ander lid."))
    member.user = user
    member.save(update_fields=["user", "updated_at"])
    user_grant_roles(user=user, roles=[Role.MEMBER])
    return member


# Consent ------------------------------------------------------------------------------------


def consent_texts_current() -> list[ConsentText]:
    """The newest version of each kind of text."""
    newest: dict[str, ConsentText] = {}
    for text in ConsentText.objects.order_by("key", "-version"):
        newest.setdefault(text.key, text)
    return list(newest.values())


@transaction.atomic
def consent_record(
    *,
    member: Member,
    consent_text: ConsentText,
    via: str = Consent.Via.ONLINE,
    by: User | None = None,
) -> Consent:
    consent, _created = Consent.objects.get_or_create(
        member=member,
        consent_text=consent_text,
        withdrawn_at=None,
        defaults={"given_at": timezone.now(), "via": via, "recorded_by": by},
    )
    return consent


@transaction.atomic
def consent_withdraw(*, member: Member, key: str) -> int:
    """The member takes back their consent to a kind of text (every version they agreed to).

    The rows stay, with the moment of withdrawal, so the history shows what was agreed when;
    giving it again later records a new row. A consent the membership needs (the privacy
    statement) cannot be taken back while the membership runs: without it we cannot keep the
    register, so the way out is ending the membership. Returns how many rows were withdrawn
    (0 when nothing was given: withdrawing twice is harmless).
    """
    newest = ConsentText.objects.filter(key=key).order_by("-version").first()
    if newest is None:
        raise MembershipError(_("Deze toestemming bestaat niet."))
    if newest.required and member.is_current:
        raise MembershipError(
            _(
                "Deze toestemming is nodig voor uw lidmaatschap. U kunt haar niet los intrekken. "
                "Wilt u dat niet meer? Zeg dan uw lidmaatschap op."
            )
        )
    return Consent.objects.filter(
        member=member, consent_text__key=key, withdrawn_at__isnull=True
    ).update(withdrawn_at=timezone.now())


# Ending a membership on notice --------------------------------------------------------------


def membership_notice_default_end(today: dt.date | None = None) -> dt.date:
    """Notice is given per the end of the year unless the member asks for another date."""
    today = today or timezone.localdate()
    return dt.date(today.year, 12, 31)


def membership_notice_pending(member: Member) -> MembershipNotice | None:
    return MembershipNotice.objects.filter(
        member=member, status=MembershipNotice.Status.PENDING
    ).first()


@transaction.atomic
def membership_notice_give(
    *, member: Member, end_on: dt.date | None = None, reason: str = "", by: User | None = None
) -> MembershipNotice:
    """The member gives notice online; the membership runs on until a coordinator confirms."""
    member = Member.objects.select_for_update().get(pk=member.pk)
    if not member.is_current:
        raise MembershipError(_("Dit lidmaatschap is al beëindigd."))
    if membership_notice_pending(member) is not None:
        raise MembershipError(
            _("U heeft al opgezegd. De coördinator bevestigt uw opzegging binnenkort.")
        )
    today = timezone.localdate()
    end_on = end_on or membership_notice_default_end(today)
    if end_on < today:
        raise MembershipError(_("Kies vandaag of een datum in de toekomst."))
    return MembershipNotice.objects.create(
        member=member,
        given_at=timezone.now(),
        end_on=end_on,
        reason=" ".join(reason.split()),
        given_by=by,
    )


@transaction.atomic
def membership_notice_withdraw(
    *, member: Member, by: User | None = None
) -> MembershipNotice | None:
    """The member takes the notice back before it is confirmed. None when nothing was pending
    (already confirmed, or withdrawn by a second click)."""
    notice = (
        MembershipNotice.objects.select_for_update()
        .filter(member=member, status=MembershipNotice.Status.PENDING)
        .first()
    )
    if notice is None:
        return None
    notice.status = MembershipNotice.Status.WITHDRAWN
    notice.decided_at = timezone.now()
    notice.decided_by = by
    notice.save(update_fields=["status", "decided_at", "decided_by"])
    return notice


def membership_notice_reason(notice: MembershipNotice) -> str:
    """What the status history says: who ended it and when they gave notice, and why."""
    given_on = timezone.localtime(notice.given_at).date()
    reason = _("Opgezegd door lid op %(date)s") % {"date": date_format(given_on, "j F Y")}
    if notice.reason:
        reason = f"{reason}: {notice.reason}"
    return reason[:300]


@transaction.atomic
def membership_notice_confirm(
    *, notice: MembershipNotice, effective_on: dt.date | None = None, by: User | None = None
) -> Member:
    """A coordinator confirms a notice: the membership is cancelled per the date asked for (or
    the one the coordinator agreed with the member), through the ordinary status change."""
    notice = MembershipNotice.objects.select_for_update().get(pk=notice.pk)
    if not notice.is_pending:
        raise MembershipError(_("Deze opzegging is al afgehandeld."))
    return member_change_status(
        member=notice.member,
        to_status=Member.Status.CANCELLED,
        effective_on=effective_on or notice.end_on,
        reason=membership_notice_reason(notice),
        by=by,
    )


def _notices_settle(*, member: Member, to_status: str, by: User | None) -> None:
    """The membership ended: a notice still waiting is done. Cancelled is what the member asked
    for (confirmed, and they get a confirmation); death or expulsion leaves it lapsed."""
    notice = (
        MembershipNotice.objects.select_for_update()
        .filter(member=member, status=MembershipNotice.Status.PENDING)
        .first()
    )
    if notice is None:
        return
    confirmed = to_status == Member.Status.CANCELLED
    notice.status = (
        MembershipNotice.Status.CONFIRMED if confirmed else MembershipNotice.Status.LAPSED
    )
    notice.decided_at = timezone.now()
    notice.decided_by = by
    notice.save(update_fields=["status", "decided_at", "decided_by"])
    if confirmed:
        by_email = (
            bool(member.email) and member.contact_preference == Member.ContactPreference.EMAIL
        )
        outbox_enqueue(
            key=f"members.notice_confirmed:{notice.pk}",
            template="members/email/notice_confirmed",
            context={"member": member, "notice": notice},
            recipient_ref=f"members.member:{member.pk}",
            to_name=member.full_name,
            to_email=member.email if by_email else "",
            to_address="\n".join(member.household.address_lines),
            language=member.language,
        )


# Self-service -------------------------------------------------------------------------------


@transaction.atomic
def membership_apply(
    *, user: User, person: Person, address: Address, consent_texts: list[ConsentText]
) -> Member:
    """A resident signs up online: a new household, an applied membership, their consents.

    A new household is made even when the address is known: joining someone else's household
    would show that household's data, so a coordinator merges them after checking.
    """
    household = household_create(address=address)
    member = member_register(
        household=household,
        person=Person(**{**person.__dict__, "email": user.email}),
        user=user,
        by=user,
    )
    for text in consent_texts:
        consent_record(member=member, consent_text=text, via=Consent.Via.ONLINE, by=user)
    return member


@transaction.atomic
def signup_application_save(
    *, user: User, person: Person, address: Address, consent_texts: list[ConsentText]
) -> SignupApplication:
    """Keep what a resident filled in on the sign-up page until they confirm their e-mail."""
    application, _created = SignupApplication.objects.update_or_create(
        user=user,
        defaults={
            "person": {
                **person.__dict__,
                "email": "",
                "date_of_birth": person.date_of_birth.isoformat() if person.date_of_birth else None,
            },
            "address": dict(address.__dict__),
        },
    )
    application.consent_texts.set(consent_texts)
    return application


@transaction.atomic
def signup_application_complete(*, user: User) -> Member | None:
    """The e-mail address is confirmed: the resident enters the register, once.

    When the register already holds a member with this address and no account, the account is
    linked to that member (confirming the address proves it is theirs, as a password reset
    would) and nothing new is made.
    """
    application = SignupApplication.objects.select_for_update().filter(user=user).first()
    if application is None:
        return None
    consent_texts = list(application.consent_texts.all())
    existing = (
        Member.objects.select_for_update().filter(email__iexact=user.email).first()
        if user.email
        else None
    )
    if Member.objects.filter(user=user).exists():
        member = None
    elif existing is not None:
        member = None
        if existing.user_id is None:
            existing.user = user
            existing.save(update_fields=["user", "updated_at"])
            user_grant_roles(user=user, roles=[Role.MEMBER])
            for text in consent_texts:
                if not existing.consents.filter(
                    consent_text=text, withdrawn_at__isnull=True
                ).exists():
                    consent_record(
                        member=existing, consent_text=text, via=Consent.Via.ONLINE, by=user
                    )
            member = existing
    else:
        data = dict(application.person)
        born = data.pop("date_of_birth", None)
        member = membership_apply(
            user=user,
            person=Person(**data, date_of_birth=dt.date.fromisoformat(born) if born else None),
            address=Address(**application.address),
            consent_texts=consent_texts,
        )
    application.delete()
    return member


def signup_applications_purge(*, older_than_days: int = 30) -> int:
    """Forget sign-ups whose e-mail address was never confirmed, with their unused account."""
    cutoff = timezone.now() - dt.timedelta(days=older_than_days)
    stale = SignupApplication.objects.filter(created_at__lt=cutoff)
    users = User.objects.filter(
        pk__in=stale.values("user_id"), member__isnull=True, last_login__isnull=True
    )
    count = users.count()
    with transaction.atomic():
        users.delete()
        stale.delete()
    return count


@transaction.atomic
def household_member_add(*, household: Household, person: Person, by: User) -> Member:
    """A member adds someone who lives with them; a coordinator then activates the membership.

    An e-mail address that already belongs to someone in the register is not saved with the
    housemate, and the page says the same as for any other address: telling the difference would
    let anyone with an account find out who is a member. The owner of that address gets a note
    by e-mail instead; the coordinator sees the housemate without e-mail and can sort it out.
    """
    email = person.email.strip().lower()
    taken = email_in_use(email)
    if taken:
        person = Person(
            **{
                **person.__dict__,
                "email": "",
                "contact_preference": Member.ContactPreference.LETTER,
            }
        )
    member = member_register(household=household, person=person, by=by)
    if taken:
        _email_taken_notice(housemate=member, email=email)
    return member


@transaction.atomic
def household_member_update(*, member: Member, person: Person, by: User) -> Member:
    """A member corrects a housemate's data; a taken e-mail address is handled as when adding."""
    email = person.email.strip().lower()
    if email_in_use(email, exclude_member=member):
        person = Person(
            **{
                **person.__dict__,
                "email": member.email,
                "contact_preference": member.contact_preference,
            }
        )
        member = member_update(member=member, person=person, by=by)
        _email_taken_notice(housemate=member, email=email)
        return member
    return member_update(member=member, person=person, by=by)


def _email_taken_notice(*, housemate: Member, email: str) -> None:
    outbox_enqueue(
        key=f"members.housemate_email_taken:{housemate.pk}:{email}",
        template="members/email/housemate_email_taken",
        context={"housemate": housemate},
        recipient_ref=f"members.member:{housemate.pk}",
        to_name="",
        to_email=email,
        language=housemate.language,
    )


@transaction.atomic
def household_member_remove(*, member: Member, by: User) -> Member:
    """A member reports that someone no longer lives with them: the membership ends, nothing is deleted."""
    if member.user_id == by.pk:
        raise MembershipError(
            _(
                "U kunt uzelf hier niet afmelden. Wilt u stoppen? Kies dan 'Lidmaatschap "
                "opzeggen' op de pagina Mijn gegevens."
            )
        )
    if not member.is_current:
        raise MembershipError(_("Dit lidmaatschap is al beëindigd."))
    return member_change_status(
        member=member,
        to_status=Member.Status.CANCELLED,
        reason=_("Afgemeld door huisgenoot"),
        by=by,
    )


@transaction.atomic
def member_sync_account_email(*, user: User, email: str) -> Member | None:
    """Keep the member's e-mail equal to their account's primary address when they change it."""
    member = Member.objects.select_for_update().filter(user=user).first()
    if member is None:
        return None
    email = email.strip().lower()
    if member.email == email:
        return member
    if email_in_use(email, exclude_member=member):
        raise MembershipError(
            _("Er is al een lid met het e-mailadres %(email)s.") % {"email": email}
        )
    member.email = email
    member.save(update_fields=["email", "updated_at"])
    return member


# Assisted use: a coordinator acts for a resident ---------------------------------------------


@transaction.atomic
def member_enrol(
    *,
    person: Person,
    household: Household | None = None,
    address: Address | None = None,
    paper_consents: list[ConsentText] | tuple[ConsentText, ...] = (),
    by: User | None = None,
) -> Member:
    """A coordinator registers a resident, at a known household or at a new address.

    Consents the resident signed on paper are recorded as such. Nothing is kept when any part
    fails, so a rejected e-mail address leaves no empty household behind.
    """
    if household is None and address is not None:
        household = household_create(address=address)
    elif household is None or address is not None:
        raise MembershipError(_("Kies een bestaand adres of vul een nieuw adres in."))
    member = member_register(household=household, person=person, by=by)
    for text in paper_consents:
        consent_record(member=member, consent_text=text, via=Consent.Via.PAPER, by=by)
    return member


@transaction.atomic
def member_move_out(
    *, member: Member, address: Address, moved_on: dt.date | None = None, by: User | None = None
) -> Member:
    """A member moves to an address where no member lives yet: a new household of their own."""
    household = household_create(address=address)
    return member_move(member=member, to_household=household, moved_on=moved_on, by=by)
