from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count, Max

from coop.accounts.models import User
from coop.accounts.roles import Role
from coop.core.models import NumberSequence, Organisation, OutboxMessage
from members.models import Buurt, ConsentText, Household, Member, PostcodeRange, StatusChange
from members.services import MEMBER_NUMBER_SEQUENCE
from reports.demo import ACCOUNT_DOMAIN, DEMO_PASSWORD

pytestmark = pytest.mark.django_db


def demo(*args: str) -> str:
    out = StringIO()
    call_command("demo", *args, stdout=out)
    return out.getvalue()


def test_demo_builds_a_realistic_cooperative():
    output = demo()

    members = Member.objects.count()
    assert 700 <= members <= 850
    assert 480 <= Household.objects.count() <= 520
    assert 4 <= Buurt.objects.count() <= 6
    assert Organisation.objects.get().name == "Buurtcoöperatie Zuiderpark"

    statuses = dict(Member.objects.values_list("status").annotate(n=Count("pk")))
    assert statuses[Member.Status.ACTIVE] > 0.8 * members
    assert set(statuses) == set(Member.Status.values)
    without_email = Member.objects.filter(email="").count()
    assert 0.10 * members <= without_email <= 0.20 * members
    assert not Member.objects.filter(email="", contact_preference=Member.ContactPreference.EMAIL)
    assert Member.objects.exclude(tussenvoegsel="").exists()
    assert Household.objects.exclude(house_number_addition="").exists()

    # Households sit in the buurt their postcode says, and a few are outside every buurt.
    ranges = list(PostcodeRange.objects.all())
    for postcode, buurt_id in Household.objects.values_list("postcode", "buurt_id"):
        assert buurt_id == next((r.buurt_id for r in ranges if r.start <= postcode <= r.end), None)
    assert 0 < Household.objects.filter(buurt=None).count() < 0.1 * Household.objects.count()

    # Member numbers come from the database sequence, so the next registration gets a fresh one.
    numbers = Member.objects.aggregate(top=Max("number"))["top"]
    assert numbers == members
    assert NumberSequence.objects.get(name=MEMBER_NUMBER_SEQUENCE).last_value == numbers

    # Every ended membership has its history, ending in the status it has.
    ended = Member.objects.filter(status__in=Member.ENDED).first()
    last = StatusChange.objects.filter(member=ended).order_by("-effective_on", "-pk").first()
    assert last.to_status == ended.status and last.reason == ended.end_reason
    assert ConsentText.objects.filter(key="privacy").count() == 2
    assert OutboxMessage.objects.filter(channel=OutboxMessage.Channel.LETTER).count() >= 3

    for role in (
        Role.COORDINATOR,
        Role.TREASURER,
        Role.BUURTASSISTENT,
        Role.VOLUNTEER,
        Role.MEMBER,
    ):
        assert any(user.has_role(role) for user in User.objects.all()), role
    admin = User.objects.get(email=f"beheer@{ACCOUNT_DOMAIN}")
    assert admin.is_superuser and admin.check_password(DEMO_PASSWORD)
    member = Member.objects.get(user__email=f"lid@{ACCOUNT_DOMAIN}")
    assert member.household.members.count() >= 2
    assert f"lid@{ACCOUNT_DOMAIN}" in output and DEMO_PASSWORD in output


def test_second_run_refuses_and_changes_nothing():
    demo("--households", "20")
    before = Member.objects.count()

    with pytest.raises(CommandError, match="--reset"):
        demo()

    assert Member.objects.count() == before
    assert "leaving it as it is" in demo("--skip-existing")
    assert Member.objects.count() == before


@pytest.mark.django_db(transaction=True)
def test_reset_rebuilds_the_same_cooperative():
    """--reset empties the database (TRUNCATE, hence a real transaction) and the seed repeats."""
    demo("--households", "20")
    first = list(
        Member.objects.order_by("number").values_list("number", "sort_name", "household__postcode")
    )

    demo("--reset", "--households", "20")

    again = list(
        Member.objects.order_by("number").values_list("number", "sort_name", "household__postcode")
    )
    assert again == first
    assert User.objects.filter(email__endswith=ACCOUNT_DOMAIN).count() == 6


def test_a_database_with_other_data_is_left_alone():
    from .factories import MemberFactory

    MemberFactory()

    with pytest.raises(CommandError):
        demo()
    output = demo("--skip-existing")

    assert "no demo accounts" in output and DEMO_PASSWORD not in output
    assert Member.objects.count() == 1
