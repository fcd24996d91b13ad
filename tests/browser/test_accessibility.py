"""axe-core (bundled with axe-playwright-python, served from the package, not a CDN) on the main pages."""

import pytest
from axe_playwright_python.sync_playwright import Axe

from members.models import ConsentText

from ..conftest import make_persona
from ..factories import (
    BuurtFactory,
    ConsentTextFactory,
    HouseholdFactory,
    MemberFactory,
    PostcodeRangeFactory,
)
from .conftest import force_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SERIOUS = {"serious", "critical"}


def serious_violations(page) -> list[str]:
    results = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v["impact"] in SERIOUS
    ]


@pytest.fixture
def cooperative():
    buurt = BuurtFactory(name="Zuid")
    PostcodeRangeFactory(buurt=buurt, start="7911 AA", end="7911 ZZ")
    household = HouseholdFactory(buurt=buurt)
    member = MemberFactory(
        household=household, given_name="Fatima", tussenvoegsel="", family_name="El Amrani"
    )
    MemberFactory(
        household=household, email="", given_name="Henk", tussenvoegsel="de", family_name="Vries"
    )
    if not ConsentText.objects.exists():
        ConsentTextFactory()
    return {"buurt": buurt, "household": household, "member": member}


def check_pages(page, paths):
    failures = {}
    for path in paths:
        response = page.goto(path)
        assert response is not None and response.status < 400, (
            f"{path}: {response and response.status}"
        )
        found = serious_violations(page)
        if found:
            failures[path] = found
    assert failures == {}


def test_public_pages(page, cooperative):
    check_pages(page, ["/", "/accounts/login/", "/accounts/signup/", "/accounts/login/code/"])


def test_coordinator_pages(page, live_server, cooperative):
    force_login(page, make_persona("coordinator"), live_server)
    member, household, buurt = cooperative["member"], cooperative["household"], cooperative["buurt"]
    check_pages(
        page,
        [
            "/coordinatie/",
            "/leden/",
            "/leden/?q=el+amrani",
            f"/leden/{member.pk}/",
            f"/leden/{member.pk}/wijzigen/",
            f"/leden/{member.pk}/status/",
            "/leden/nieuw/",
            f"/huishoudens/{household.pk}/",
            f"/huishoudens/{household.pk}/wijzigen/",
            "/buurten/",
            f"/buurten/{buurt.pk}/",
            "/leden/importeren/",
            "/brieven/",
        ],
    )


def test_member_pages_on_a_phone(phone_page, live_server, cooperative):
    force_login(phone_page, make_persona("member"), live_server)
    check_pages(
        phone_page, ["/mijn/", "/mijn/gegevens/", "/mijn/adres/", "/mijn/huisgenoten/nieuw/"]
    )
    width = phone_page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, "the member's page scrolls sideways on a phone"


def test_treasurer_pages_for_overpaid_invoices_and_batches(
    page, live_server, cooperative, settings
):
    from decimal import Decimal

    from finance.models import CollectionBatch, LedgerEntry

    from ..sepa_support import make_invoice

    settings.SEPA_PAIN_VERSION = "pain.008.001.02"  # the batch page then shows its warning
    invoice = make_invoice(cooperative["household"])
    LedgerEntry.objects.create(
        invoice=invoice, kind="payment", source="transfer", external_id="axe-over",
        amount=Decimal("20.00"), booked_on=invoice.issued_on,
    )  # fmt: skip
    batch = CollectionBatch.objects.create(
        collection_date=invoice.due_on, message_id="WKC-AXE-1", schema_version="pain.008.001.02"
    )
    force_login(page, make_persona("treasurer"), live_server)
    check_pages(
        page,
        [
            "/financien/",
            "/financien/betalingen/?aandacht=1",
            "/financien/te-veel-betaald/",
            f"/financien/facturen/{invoice.pk}/te-veel-betaald/",
            f"/financien/facturen/{invoice.pk}/",
            f"/financien/incasso/{batch.pk}/",
        ],
    )
