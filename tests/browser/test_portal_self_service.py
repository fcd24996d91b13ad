"""The portal's self-service in a real browser: consents, giving notice, paying by transfer, and
the coordinator's side (axe-core finds nothing serious; the policy blocks nothing)."""

import datetime as dt
import os
from decimal import Decimal

import pytest
from django.utils import timezone

from members.services import consent_record

from ..conftest import make_persona
from ..factories import ConsentTextFactory, MemberFactory
from ..sepa_support import make_invoice
from .conftest import force_login
from .test_accessibility import serious_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

YEAR = timezone.localdate().year


def shoot(page, name: str) -> None:
    """COOP_SCREENSHOTS=/some/dir keeps a picture of each page, to look at what was built."""
    folder = os.environ.get("COOP_SCREENSHOTS")
    if folder:
        page.screenshot(path=os.path.join(folder, f"{name}.png"), full_page=True)


def check(page, path: str, name: str) -> None:
    response = page.goto(path)
    assert response is not None and response.status == 200, path
    assert serious_violations(page) == [], path
    shoot(page, name)


@pytest.mark.parametrize("viewport", ["page", "phone_page"])
def test_member_withdraws_a_consent_and_gives_notice(request, live_server, viewport):
    page = request.getfixturevalue(viewport)
    user = make_persona("member")
    me = user.member
    privacy = ConsentTextFactory(key="privacy", title="Privacyverklaring", required=True)
    photos = ConsentTextFactory(key="fotos", title="Foto's in de nieuwsbrief", required=False)
    consent_record(member=me, consent_text=privacy)
    consent_record(member=me, consent_text=photos)
    make_invoice(me.household, Decimal("17.50"), year=YEAR, due_on=dt.date(YEAR, 12, 31))
    force_login(page, user, live_server)

    check(page, "/mijn/", f"{viewport}-portal")
    page.get_by_role("button", name="Toestemming intrekken (Foto's in de nieuwsbrief)").click()
    page.wait_for_load_state()
    assert "ingetrokken op" in page.content()
    page.get_by_role("button", name="Opnieuw toestemming geven (Foto's in de nieuwsbrief)").click()
    page.wait_for_load_state()
    assert "is vastgelegd op" in page.content()
    shoot(page, f"{viewport}-portal-after-consent")

    check(page, "/mijn/opzeggen/", f"{viewport}-notice-form")
    page.get_by_label("Waarom stopt u?").fill("Ik ga verhuizen")
    page.get_by_role("button", name="Lidmaatschap opzeggen").click()
    page.wait_for_load_state()
    assert "wacht op bevestiging" in page.content()
    assert serious_violations(page) == []
    shoot(page, f"{viewport}-notice-pending")

    check(page, "/mijn/facturen/", f"{viewport}-my-invoices")
    assert page.get_by_text("NL91 ABNA 0417 1643 00").is_visible()


def test_coordinator_confirms_and_sees_the_contribution(page, live_server):
    member = MemberFactory(given_name="Truus", tussenvoegsel="", family_name="Dijkstra")
    make_invoice(member.household, Decimal("17.50"), year=YEAR)
    from members.services import membership_notice_give

    membership_notice_give(member=member, reason="Gaat naar een verzorgingshuis")
    coordinator = make_persona("coordinator")
    force_login(page, coordinator, live_server)
    check(page, "/", "coordinator-dashboard")
    check(page, "/leden/opzeggingen/", "notice-list")
    check(page, f"/leden/{member.pk}/", "member-detail")
    check(page, f"/huishoudens/{member.household_id}/", "household-detail")
    check(page, f"/leden/{member.pk}/opzegging/", "member-notice")
    page.get_by_role("button", name="Opzegging bevestigen").click()
    page.wait_for_load_state()
    assert "is bevestigd" in page.content()
    shoot(page, "member-detail-confirmed")
