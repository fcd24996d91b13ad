"""The dues-run preview in a real browser: open a group of skipped members and page through it."""

import datetime as dt
from decimal import Decimal

import pytest

from finance.models import ContributionScheme
from finance.services.dues import scheme_create
from members.models import Member

from ..conftest import make_persona
from ..factories import HouseholdFactory, MemberFactory
from .conftest import force_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
YEAR = 2025


def seed() -> None:
    scheme_create(
        year=YEAR,
        first_member_amount=Decimal("10.00"),
        further_member_amount=Decimal("7.50"),
        reduced_amount=Decimal("5.00"),
        mid_year=ContributionScheme.MidYear.PER_MONTH,
        minimum_invoice_amount=Decimal("5.00"),
        below_minimum=ContributionScheme.BelowMinimum.CHARGE,
    )
    for _ in range(60):
        MemberFactory(status=Member.Status.APPLIED, joined_on=None)
    MemberFactory(household=HouseholdFactory(), joined_on=dt.date(YEAR, 12, 1))
    MemberFactory(joined_on=dt.date(2020, 1, 1))


@pytest.mark.parametrize("fixture", ["page", "phone_page"])
def test_the_treasurer_opens_a_group_and_pages_through_it(request, fixture, live_server):
    page = request.getfixturevalue(fixture)
    seed()
    force_login(page, make_persona("treasurer"), live_server)
    page.goto(f"/financien/contributierun/{YEAR}/")
    assert page.locator("#groep").count() == 0
    page.get_by_role("link", name="Toon de namen (Aangemeld, nog geen lid)").click()
    page.wait_for_load_state()
    group = page.locator("#groep")
    assert group.get_by_role("heading").inner_text() == "Aangemeld, nog geen lid (60)"
    assert group.locator("tbody tr").count() == 50
    group.get_by_role("link", name="Volgende").click()
    page.wait_for_load_state()
    assert page.url.endswith("page=2#groep")
    assert page.locator("#groep tbody tr").count() == 10
    assert page.locator("#groep").get_by_text("Pagina 2 van 2").is_visible()
    page.get_by_role("link", name="Toon deze huishoudens").click()
    page.wait_for_load_state()
    assert page.locator("#groep tbody tr").count() == 1
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
