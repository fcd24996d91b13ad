"""A coordinator finds a member by address or phone number, at a desk and on a phone."""

import pytest

from ..conftest import make_persona
from ..factories import BuurtFactory, HouseholdFactory, MemberFactory, PostcodeRangeFactory
from .conftest import force_login, log_in
from .test_accessibility import serious_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def lindeplein():
    buurt = BuurtFactory(name="Parkzicht")
    PostcodeRangeFactory(buurt=buurt, start="7343 AA", end="7343 ZZ")

    def household(number, addition=""):
        return HouseholdFactory(
            street="Lindeplein",
            house_number=number,
            house_number_addition=addition,
            postcode="7343 AB",
            town="Zuiderpark",
            buurt=buurt,
        )

    marie = MemberFactory(
        household=household(28),
        given_name="Marie",
        tussenvoegsel="",
        family_name="Jansen",
        phone="0555-120936",
    )
    MemberFactory(
        household=household(28, "A"), given_name="Kees", tussenvoegsel="de", family_name="Boer"
    )
    MemberFactory(
        household=household(30), given_name="Sanne", tussenvoegsel="", family_name="Bakker"
    )
    MemberFactory(given_name="Piet", tussenvoegsel="", family_name="Smit", phone="06-12345678")
    return marie


def search(page, text: str):
    page.get_by_role("searchbox", name="Zoeken").fill(text)
    page.get_by_role("button", name="Zoeken").click()
    page.wait_for_load_state()
    return page.locator("table tbody tr")


def test_coordinator_finds_a_member_by_address(page, lindeplein):
    log_in(page, make_persona("coordinator").email)
    page.goto("/leden/")
    assert "adres" in page.locator("#id_q_helptext").inner_text()

    results = search(page, "Lindeplein 28")
    assert results.count() == 2  # 28 and 28A: the whole address, with or without addition
    assert "Marie Jansen" in results.nth(1).inner_text()
    assert "Kees de Boer" in results.nth(0).inner_text()
    assert page.get_by_role("searchbox", name="Zoeken").input_value() == "Lindeplein 28"
    assert serious_violations(page) == []

    results = search(page, "lindeplein 28a")
    assert results.count() == 1 and "Kees de Boer" in results.first.inner_text()

    search(page, "Lindeplein 28").get_by_role("link", name="Marie Jansen").click()
    assert page.get_by_role("heading", level=1).inner_text().startswith("Marie Jansen")


def test_coordinator_finds_a_member_by_phone_on_a_phone(phone_page, live_server, lindeplein):
    force_login(phone_page, make_persona("coordinator"), live_server)
    phone_page.goto("/leden/")
    for typed in ("0555 120 936", "+31555120936"):
        results = search(phone_page, typed)
        assert results.count() == 1, typed
        assert "Marie Jansen" in results.first.inner_text()
    assert serious_violations(phone_page) == []
    width = phone_page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, "the search results scroll sideways on a phone"
