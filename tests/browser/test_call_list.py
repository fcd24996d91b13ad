"""The issue's scenario, second half: a coordinator finds a member by "Lindeplein 28", then opens
the call list from the dashboard and records a call. axe finds nothing serious on the way.
And the public home page, with what membership costs, and the privacy statement."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.utils import timezone

from finance.models import CallNote, ContributionScheme, Invoice

from ..conftest import make_persona
from ..factories import (
    BuurtFactory,
    ConsentTextFactory,
    HouseholdFactory,
    MemberFactory,
    PostcodeRangeFactory,
)
from ..sepa_support import make_invoice
from .conftest import force_login, log_in
from .test_accessibility import serious_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def unpaid():
    """Marie Jansen, Lindeplein 28, did not pay after two reminders."""
    buurt = BuurtFactory(name="Parkzicht")
    PostcodeRangeFactory(buurt=buurt, start="7343 AA", end="7343 ZZ")
    household = HouseholdFactory(
        street="Lindeplein", house_number=28, postcode="7343 AB", town="Zuiderpark", buurt=buurt
    )
    MemberFactory(
        household=household,
        given_name="Marie",
        tussenvoegsel="",
        family_name="Jansen",
        phone="0555-120936",
    )
    invoice = make_invoice(household)
    Invoice.objects.filter(pk=invoice.pk).update(reminder_level=3)
    return invoice


def test_coordinator_opens_the_call_list_from_the_dashboard_and_notes_a_call(page, unpaid):
    log_in(page, make_persona("coordinator").email)
    assert page.url.endswith("/coordinatie/")  # a coordinator starts on the dashboard

    page.goto("/leden/")
    page.get_by_role("searchbox", name="Zoeken").fill("Lindeplein 28")
    page.get_by_role("button", name="Zoeken").click()
    page.wait_for_load_state()
    assert "Marie Jansen" in page.locator("table tbody").inner_text()

    page.get_by_role("navigation", name="Hoofdmenu").get_by_role("link", name="Overzicht").click()
    menu = page.get_by_role("navigation", name="Hoofdmenu")
    assert menu.get_by_role("link", name="Bellijst (1)").is_visible()
    card = page.locator(".card", has_text="om na te bellen")
    assert card.locator(".card__figure").inner_text() == "1"
    card.get_by_role("link", name="Naar de bellijst").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", level=1).inner_text() == "Bellijst: nog niet betaald"

    row = page.locator(f"#bel-{unpaid.pk}")
    phone = row.get_by_role("link", name="0555-120936")
    assert phone.get_attribute("href") == "tel:+31555120936"  # tapped on a phone, it dials
    assert "Nog niet gebeld" in row.inner_text()
    assert serious_violations(page) == []

    row.get_by_role("link", name=re.compile(r"^Gesprek noteren\W+Marie Jansen$")).click()
    page.wait_for_load_state()
    assert serious_violations(page) == []
    promised = timezone.localdate() + dt.timedelta(days=10)
    page.get_by_label("Gesproken: gaat betalen").check()
    page.get_by_label("Betaalt uiterlijk op").fill(promised.isoformat())
    page.get_by_label("Notitie").fill("Betaalt na de AOW")
    page.get_by_role("button", name="Opslaan").click()
    page.wait_for_load_state()

    assert page.url.endswith("/financien/bellijst/")
    assert f"Het gesprek over factuur {unpaid.number} is genoteerd." in page.content()
    agreed = page.locator("section", has=page.locator("#agreed-heading"))
    row = agreed.locator(f"#bel-{unpaid.pk}")
    assert "Gesproken: gaat betalen" in row.inner_text()
    assert "Betaalt na de AOW" in row.inner_text()
    assert page.locator("#to-call-heading").inner_text() == "Nog bellen (0)"
    assert serious_violations(page) == []
    # Nobody left to call: the menu no longer shows the list.
    menu = page.get_by_role("navigation", name="Hoofdmenu")
    assert menu.get_by_role("link", name="Bellijst (1)").count() == 0
    note = CallNote.objects.get()
    assert (note.outcome, note.promised_on) == (CallNote.Outcome.WILL_PAY, promised)


def test_the_call_list_on_a_phone(phone_page, live_server, unpaid):
    force_login(phone_page, make_persona("coordinator"), live_server)
    phone_page.goto("/financien/bellijst/")
    row = phone_page.locator(f"#bel-{unpaid.pk}")
    link = row.get_by_role("link", name="0555-120936")
    assert link.get_attribute("href") == "tel:+31555120936"
    box = link.bounding_box()
    assert box is not None and box["x"] + box["width"] <= 375  # on the screen, not off to the side
    assert serious_violations(phone_page) == []


def test_the_public_home_page_and_the_privacy_statement(page):
    ContributionScheme.objects.create(
        year=timezone.localdate().year,
        first_member_amount=Decimal("10.00"),
        further_member_amount=Decimal("7.50"),
        reduced_amount=Decimal("5.00"),
    )
    ConsentTextFactory(key="privacy", title="Privacyverklaring", text="Wij bewaren weinig.")
    page.goto("/")
    assert "€ 10,00" in page.locator("main").inner_text()
    assert serious_violations(page) == []
    page.get_by_role("link", name="Privacyverklaring").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", level=1).inner_text() == "Privacyverklaring"
    assert "Wij bewaren weinig." in page.locator("main").inner_text()
    assert serious_violations(page) == []
