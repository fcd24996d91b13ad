import pytest

from members.models import Member
from members.services import (
    Address,
    Person,
    household_create,
    member_change_status,
    member_register,
)


@pytest.mark.django_db
def test_register_and_activate_member_queues_welcome(
    django_capture_on_commit_callbacks, mailoutbox
):
    household = household_create(
        address=Address(
            street="Dorpsstraat", house_number=1, postcode="7911ab", town="Hollandscheveld"
        )
    )
    assert household.postcode == "7911 AB"
    member = member_register(
        household=household,
        person=Person(
            given_name="Jan", tussenvoegsel="van der", family_name="Berg", email="Jan@Example.org"
        ),
    )
    assert member.sort_name.startswith("berg")
    with django_capture_on_commit_callbacks(execute=True):
        member_change_status(member=member, to_status=Member.Status.ACTIVE)
    assert len(mailoutbox) == 1
