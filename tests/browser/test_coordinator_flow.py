import pytest

from members.models import AddressChange, Household

from ..conftest import make_persona
from ..factories import BuurtFactory, HouseholdFactory, MemberFactory, PostcodeRangeFactory
from .conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_coordinator_finds_member_by_postcode_and_edits_household(page):
    buurt = BuurtFactory(name="Het Dorp")
    PostcodeRangeFactory(buurt=buurt, start="7913 AA", end="7913 ZZ")
    household = HouseholdFactory(
        street="Kerkweg", house_number=12, postcode="7913 KL", town="Hollandscheveld", buurt=buurt
    )
    MemberFactory(household=household, given_name="Grietje", tussenvoegsel="", family_name="Mulder")
    MemberFactory(
        household=HouseholdFactory(postcode="7911 AB"),
        given_name="Klaas",
        tussenvoegsel="",
        family_name="Bakker",
    )
    coordinator = make_persona("coordinator")

    log_in(page, coordinator.email)
    page.goto("/leden/")
    page.get_by_role("searchbox", name="Zoeken").fill("7913kl")
    page.get_by_role("button", name="Zoeken").click()

    results = page.locator("table tbody tr")
    assert results.count() == 1
    assert "Grietje Mulder" in results.first.inner_text()

    results.first.get_by_role("link", name="Kerkweg 12").click()
    page.get_by_role("link", name="Adres wijzigen").click()
    page.get_by_label("Toevoeging").fill("A")
    page.get_by_label("Postcode").fill("7913kl")
    page.get_by_role("button", name="Adres opslaan").click()

    assert (
        page.get_by_role("heading", level=1).inner_text().startswith("Kerkweg 12A")
        or "Kerkweg 12A" in page.content()
    )
    household.refresh_from_db()
    assert household.house_number_addition == "A"
    assert household.postcode == "7913 KL"
    assert AddressChange.objects.filter(household=household).count() == 1
    assert Household.objects.count() == 2
