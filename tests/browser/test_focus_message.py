"""After a submit the focus moves to what happened (static/js/focus-message.js); otherwise not."""

import pytest

from ..conftest import make_persona
from ..factories import MemberFactory
from .conftest import force_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ACTIVE = """() => {
  const el = document.activeElement;
  return {
    tag: el.tagName.toLowerCase(),
    focus: el.getAttribute("data-focus-message"),
    text: el.innerText,
    visible: el.getBoundingClientRect().top >= 0 && el.getBoundingClientRect().top < innerHeight,
  };
}"""


def active(page) -> dict:
    page.wait_for_load_state("load")
    return page.evaluate(ACTIVE)


def test_a_failed_submit_focuses_the_error_summary(page, live_server):
    force_login(page, make_persona("coordinator"), live_server)
    page.goto("/leden/nieuw/")
    page.get_by_role("button", name="Inschrijven").click()

    focused = active(page)
    assert focused["focus"] == "error"
    assert "Niet alles is goed ingevuld" in focused["text"]
    assert focused["visible"]
    # Tab goes on from the summary into the page, not back to the top of it.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('main') !== null")


def test_a_successful_save_focuses_the_message(page, live_server):
    member = MemberFactory(given_name="Grietje", tussenvoegsel="", family_name="Mulder")
    force_login(page, make_persona("coordinator"), live_server)
    page.goto(f"/leden/{member.pk}/wijzigen/")
    page.get_by_label("Telefoon").first.fill("06-12345678")
    page.get_by_role("button", name="Opslaan").click()

    focused = active(page)
    assert focused["focus"] == "message"
    assert "De gegevens van Grietje Mulder zijn opgeslagen." in focused["text"]
    member.refresh_from_db()
    assert member.phone == "06-12345678"
    # The message is shown once: the next page leaves the focus alone.
    page.goto("/leden/")
    assert active(page)["tag"] == "body"


def test_a_plain_page_load_leaves_the_focus_alone(page, live_server):
    MemberFactory()
    force_login(page, make_persona("coordinator"), live_server)
    page.goto("/leden/")
    assert active(page)["tag"] == "body"
    # Nor does a form that was not sent yet.
    page.goto("/leden/nieuw/")
    assert active(page)["tag"] == "body"
