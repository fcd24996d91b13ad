"""The member register's rules, on the real database."""

import datetime as dt

import pytest
from django.db import IntegrityError, transaction

from coop.core.models import NumberSequence, OutboxMessage
from coop.core.services import sequence_ensure_at_least, sequence_key
from coop.lib.postcode import InvalidPostcode
from members.models import AddressChange, Consent, Household, Member, Move, StatusChange
from members.services import (
    MEMBER_NUMBER_SEQUENCE,
    Address,
    MembershipError,
    Person,
    buurt_create,
    household_change_address,
    household_create,
    member_change_status,
    member_enrol,
    member_move,
    member_move_out,
    member_register,
    postcode_range_add,
    postcode_range_remove,
)

from .factories import ConsentTextFactory, HouseholdFactory, MemberFactory

pytestmark = pytest.mark.django_db


def address(postcode="7911 AB", number=1, street="Dorpsstraat", town="Hollandscheveld") -> Address:
    return Address(street=street, house_number=number, postcode=postcode, town=town)


def register(email="", given_name="Jan", family_name="Berg", household=None) -> Member:
    household = household or household_create(address=address())
    person = Person(given_name=given_name, family_name=family_name, email=email)
    return member_register(household=household, person=person)


# Status lifecycle ---------------------------------------------------------------------------


def test_lifecycle_applied_active_cancelled_active_keeps_full_history(
    django_capture_on_commit_callbacks,
):
    member = register(email="jan@example.org")
    assert member.status == Member.Status.APPLIED
    with django_capture_on_commit_callbacks(execute=True):
        member = member_change_status(
            member=member, to_status=Member.Status.ACTIVE, effective_on=dt.date(2025, 2, 1)
        )
    assert member.joined_on == dt.date(2025, 2, 1)
    member = member_change_status(
        member=member,
        to_status=Member.Status.CANCELLED,
        effective_on=dt.date(2025, 12, 31),
        reason="Verhuisd naar Assen",
    )
    assert (member.status, member.ended_on, member.end_reason) == (
        Member.Status.CANCELLED,
        dt.date(2025, 12, 31),
        "Verhuisd naar Assen",
    )
    member = member_change_status(
        member=member, to_status=Member.Status.ACTIVE, effective_on=dt.date(2026, 3, 1)
    )
    assert member.ended_on is None and member.end_reason == ""

    history = list(
        StatusChange.objects.filter(member=member)
        .order_by("recorded_at", "pk")
        .values_list("from_status", "to_status", "reason")
    )
    assert history == [
        ("", "aangemeld", ""),
        ("aangemeld", "actief", ""),
        ("actief", "opgezegd", "Verhuisd naar Assen"),
        ("opgezegd", "actief", ""),
    ]


def test_activation_queues_one_welcome_message_even_when_activated_twice():
    member = register(email="piet@example.org")
    member = member_change_status(member=member, to_status=Member.Status.ACTIVE)
    member = member_change_status(
        member=member, to_status=Member.Status.CANCELLED, reason="Wil niet meer"
    )
    member_change_status(member=member, to_status=Member.Status.ACTIVE)
    messages = OutboxMessage.objects.filter(recipient_ref=f"members.member:{member.pk}")
    assert messages.count() == 1
    assert messages.get().channel == OutboxMessage.Channel.EMAIL


def test_activation_of_member_without_email_queues_a_letter():
    member = register(email="")
    assert member.contact_preference == Member.ContactPreference.LETTER
    member_change_status(member=member, to_status=Member.Status.ACTIVE)
    message = OutboxMessage.objects.get(recipient_ref=f"members.member:{member.pk}")
    assert message.channel == OutboxMessage.Channel.LETTER
    assert "7911 AB" in message.to_address


@pytest.mark.parametrize(
    ("start", "forbidden"),
    [
        (Member.Status.APPLIED, Member.Status.DECEASED),
        (Member.Status.APPLIED, Member.Status.EXPELLED),
        (Member.Status.ACTIVE, Member.Status.APPLIED),
        (Member.Status.ACTIVE, Member.Status.ACTIVE),
        (Member.Status.DECEASED, Member.Status.ACTIVE),
        (Member.Status.EXPELLED, Member.Status.ACTIVE),
    ],
)
def test_forbidden_transitions_are_refused_and_change_nothing(start, forbidden):
    ended = start in Member.ENDED
    member = MemberFactory(status=start, ended_on=dt.date(2024, 6, 1) if ended else None)
    with pytest.raises(MembershipError):
        member_change_status(member=member, to_status=forbidden, reason="Reden")
    member.refresh_from_db()
    assert member.status == start
    assert not StatusChange.objects.filter(member=member).exists()


@pytest.mark.parametrize(
    "to_status", [Member.Status.CANCELLED, Member.Status.DECEASED, Member.Status.EXPELLED]
)
def test_ending_a_membership_needs_a_reason(to_status):
    member = MemberFactory(status=Member.Status.ACTIVE)
    with pytest.raises(MembershipError, match="reden"):
        member_change_status(member=member, to_status=to_status, reason="   ")
    member.refresh_from_db()
    assert member.status == Member.Status.ACTIVE and member.ended_on is None


def test_database_refuses_an_ended_membership_without_end_date():
    member = MemberFactory(status=Member.Status.ACTIVE)
    with pytest.raises(IntegrityError), transaction.atomic():
        Member.objects.filter(pk=member.pk).update(status=Member.Status.CANCELLED)


# Moves and address changes ------------------------------------------------------------------


def test_move_keeps_number_and_records_the_move():
    member = MemberFactory()
    number, old_address = member.number, member.household.address_line
    target = HouseholdFactory(street="Kerkweg", house_number=12)
    moved = member_move(member=member, to_household=target, moved_on=dt.date(2025, 5, 1))
    moved.refresh_from_db()
    assert moved.number == number
    assert moved.household == target
    move = Move.objects.get(member=member)
    assert (move.from_address, move.to_address, move.moved_on) == (
        old_address,
        target.address_line,
        dt.date(2025, 5, 1),
    )


def test_move_to_own_household_is_refused():
    member = MemberFactory()
    with pytest.raises(MembershipError):
        member_move(member=member, to_household=member.household)
    assert not Move.objects.exists()


def test_move_out_creates_a_household_at_the_new_address():
    buurt = buurt_create(name="Centrum")
    postcode_range_add(buurt=buurt, start="7912", end="")
    member = MemberFactory()
    number = member.number
    member = member_move_out(
        member=member, address=address(postcode="7912cd", number=4, street="Hoofdweg")
    )
    member.refresh_from_db()
    assert member.number == number
    assert member.household.postcode == "7912 CD"
    assert member.household.buurt == buurt
    assert Move.objects.filter(member=member, to_household=member.household).exists()


def test_address_change_keeps_the_old_address_and_the_date():
    household = household_create(address=address())
    old = household.address_line
    household = household_change_address(
        household=household,
        address=address(postcode="7913 xx", number=8, street="Nieuweweg"),
        changed_on=dt.date(2025, 4, 1),
    )
    assert household.postcode == "7913 XX"
    change = AddressChange.objects.get(household=household)
    assert (change.old_address, change.new_address, change.changed_on) == (
        old,
        "Nieuweweg 8, 7913 XX Hollandscheveld",
        dt.date(2025, 4, 1),
    )


def test_address_change_to_the_same_address_records_nothing():
    household = household_create(address=address())
    household_change_address(household=household, address=address(postcode="7911ab"))
    assert not AddressChange.objects.exists()


def test_address_change_recomputes_the_buurt():
    buurt = buurt_create(name="Noord")
    postcode_range_add(buurt=buurt, start="7920", end="7921")
    household = household_create(address=address())
    assert household.buurt is None
    household = household_change_address(household=household, address=address(postcode="7921 AA"))
    assert household.buurt == buurt
    household = household_change_address(household=household, address=address(postcode="7930 AA"))
    assert household.buurt is None


# Buurten ------------------------------------------------------------------------------------


def test_four_digits_mean_the_whole_postcode_area():
    buurt = buurt_create(name="Zuid")
    added = postcode_range_add(buurt=buurt, start="7911", end="")
    assert (added.start, added.end) == ("7911 AA", "7911 ZZ")
    assert household_create(address=address(postcode="7911 ZZ")).buurt == buurt
    assert household_create(address=address(postcode="7912 AA")).buurt is None


def test_adding_a_range_assigns_existing_households_and_removing_it_recomputes():
    inside = household_create(address=address(postcode="7911 AB"))
    outside = household_create(address=address(postcode="7915 AB"))
    west, oost = buurt_create(name="West"), buurt_create(name="Oost")
    west_range = postcode_range_add(buurt=west, start="7911 AA", end="7911 MZ")
    postcode_range_add(buurt=oost, start="7911 NA", end="7911 ZZ")
    inside.refresh_from_db()
    outside.refresh_from_db()
    assert inside.buurt == west
    assert outside.buurt is None

    postcode_range_remove(postcode_range=west_range)
    inside.refresh_from_db()
    assert inside.buurt is None
    postcode_range_add(buurt=oost, start="7911 AA", end="7911 MZ")
    inside.refresh_from_db()
    assert inside.buurt == oost


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("7911 MA", "7911 MZ"),
        ("7911", ""),
        ("7900", "7999"),
        ("7911 ZZ", "7912 AB"),
        ("7910 AA", "7911 AA"),
    ],
)
def test_overlapping_ranges_are_refused(start, end):
    existing = buurt_create(name="West")
    postcode_range_add(buurt=existing, start="7911 AA", end="7911 ZZ")
    other = buurt_create(name="Oost")
    with pytest.raises(MembershipError, match="overlappen"):
        postcode_range_add(buurt=other, start=start, end=end)
    assert not other.postcode_ranges.exists()


def test_range_that_ends_before_it_starts_is_refused():
    buurt = buurt_create(name="West")
    with pytest.raises(MembershipError):
        postcode_range_add(buurt=buurt, start="7920 AA", end="7911 AA")


# Member numbers and e-mail addresses --------------------------------------------------------


def test_member_numbers_come_from_the_database_sequence_and_only_increase():
    numbers = [register(email=f"lid{i}@example.org").number for i in range(3)]
    assert numbers == sorted(numbers) and len(set(numbers)) == 3
    assert (
        NumberSequence.objects.get(name=sequence_key(MEMBER_NUMBER_SEQUENCE)).last_value
        == (numbers[-1])
    )

    # A number once given is never given again, not even when its member is removed.
    Member.objects.filter(number=numbers[-1]).delete()
    assert register(email="nieuw@example.org").number == numbers[-1] + 1

    # After an import of numbered members the sequence is moved on; new numbers follow it.
    sequence_ensure_at_least(name=MEMBER_NUMBER_SEQUENCE, value=5000)
    assert register(email="na-import@example.org").number == 5001


def test_database_refuses_two_members_with_one_number():
    member = MemberFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        MemberFactory(number=member.number)


def test_duplicate_email_is_refused_whatever_the_case():
    register(email="Anna@Example.org")
    assert Member.objects.get().email == "anna@example.org"
    with pytest.raises(MembershipError, match="anna@example.org"):
        register(email="ANNA@example.ORG", given_name="Anna")
    assert Member.objects.count() == 1


def test_database_refuses_duplicate_email_whatever_the_case():
    MemberFactory(email="kees@example.org")
    with pytest.raises(IntegrityError), transaction.atomic():
        MemberFactory(email="Kees@Example.org")


def test_many_members_may_have_no_email():
    household = household_create(address=address())
    for name in ("Jan", "Marie", "Kees"):
        register(email="", given_name=name, household=household)
    assert Member.objects.filter(email="").count() == 3


# Postcodes ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad", ["123 AB", "0123 AB", "1234 A", "1234 ABC", "1234 SS", "AB 1234", "", "12345"]
)
def test_malformed_postcodes_are_refused(bad):
    with pytest.raises(InvalidPostcode):
        household_create(address=address(postcode=bad))
    assert not Household.objects.exists()


@pytest.mark.parametrize("bad", ["79", "7911 A", "7911-ZZZ"])
def test_malformed_postcode_ranges_are_refused(bad):
    buurt = buurt_create(name="West")
    with pytest.raises(InvalidPostcode):
        postcode_range_add(buurt=buurt, start=bad, end="")
    assert not buurt.postcode_ranges.exists()


@pytest.mark.parametrize(("typed", "stored"), [("7911ab", "7911 AB"), (" 7911  Ab ", "7911 AB")])
def test_postcodes_are_normalised(typed, stored):
    assert household_create(address=address(postcode=typed)).postcode == stored


# Assisted registration ----------------------------------------------------------------------


def test_enrol_at_a_new_address_with_paper_consent():
    text = ConsentTextFactory()
    member = member_enrol(
        person=Person(given_name="Truus", family_name="Dekker"),
        address=address(postcode="7911cd", number=3),
        paper_consents=[text],
    )
    assert member.household.postcode == "7911 CD"
    assert member.email == "" and member.contact_preference == Member.ContactPreference.LETTER
    consent = Consent.objects.get(member=member)
    assert (consent.consent_text, consent.via) == (text, Consent.Via.PAPER)


def test_enrol_at_a_known_household_joins_it():
    household = HouseholdFactory()
    member = member_enrol(
        person=Person(given_name="Truus", family_name="Dekker"), household=household
    )
    assert member.household == household
    assert Household.objects.count() == 1


def test_enrol_with_a_taken_email_leaves_no_household_behind():
    MemberFactory(email="bezet@example.org")
    households = Household.objects.count()
    with pytest.raises(MembershipError):
        member_enrol(
            person=Person(given_name="Truus", family_name="Dekker", email="BEZET@example.org"),
            address=address(postcode="7911 CD"),
        )
    assert Household.objects.count() == households


def test_enrol_needs_exactly_one_of_household_and_address():
    person = Person(given_name="Truus", family_name="Dekker")
    with pytest.raises(MembershipError):
        member_enrol(person=person)
    with pytest.raises(MembershipError):
        member_enrol(person=person, household=HouseholdFactory(), address=address())
    assert not Member.objects.exists()
