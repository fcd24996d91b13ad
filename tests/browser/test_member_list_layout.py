"""The member list at 1280 px and on a phone: nothing cut off, no word broken in two."""

import datetime as dt

import pytest

from ..conftest import make_persona
from ..factories import BuurtFactory, HouseholdFactory, MemberFactory, PostcodeRangeFactory
from .conftest import force_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PEOPLE = [
    ("Wilhelmina", "van der", "Heijden", "wilhelmina.vanderheijden@example.org", "06-12345678"),
    ("Mohamed", "", "El Amrani", "mohamed.elamrani.bouzid@voorbeeld-gemeente.nl", "0555-123456"),
    ("Johanna", "in 't", "Veld", "j.intveld@example.com", ""),
    ("Ayşe", "", "Öztürk", "", "06-87654321"),
    ("Cornelis", "van den", "Berg", "corneliavandenberg@example.net", "0555-654321"),
    ("Gerrit", "ten", "Brink", "g.tenbrink2@example.com", ""),
]

# The words of every cell that must not break: names, addresses, postcodes, dates; an e-mail
# address may break before its @ (and on a phone, where its part before the @ may not fit on one
# line, anywhere). Each word is a Range; a word on two lines has rects on two lines.
BROKEN_WORDS = """({emails}) => {
  const broken = [];
  const check = (element, pattern) => {
    const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      for (const match of node.data.matchAll(pattern)) {
        const range = document.createRange();
        range.setStart(node, match.index);
        range.setEnd(node, match.index + match[0].length);
        const lines = new Set([...range.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.top)));
        if (lines.size > 1) broken.push(match[0]);
      }
    }
  };
  for (const cell of document.querySelectorAll("table.member-table tbody td")) {
    if (emails) for (const link of cell.querySelectorAll('a[href^="mailto:"]')) check(link, /[^\\s@]+|@[^\\s@]+/g);
    if (!cell.querySelector('a[href^="mailto:"]')) check(cell, /\\S+/g);
  }
  return broken;
}"""


@pytest.fixture
def register():
    buurt = BuurtFactory(name="Parkzicht")
    PostcodeRangeFactory(buurt=buurt, start="7343 AA", end="7343 ZZ")
    for n, (given, tv, family, email, phone) in enumerate(PEOPLE):
        MemberFactory(
            household=HouseholdFactory(
                street="Zuiderveenseweg" if n % 2 else "Lindeplein",
                house_number=100 + n,
                postcode="7343 ZL",
                town="Veenhoven",
                buurt=buurt,
            ),
            given_name=given,
            tussenvoegsel=tv,
            family_name=family,
            email=email,
            phone=phone,
            joined_on=dt.date(2024, 11, 28),
        )


def test_member_list_at_1280(page, live_server, register):
    force_login(page, make_persona("coordinator"), live_server)
    page.goto("/leden/")

    assert page.evaluate(BROKEN_WORDS, {"emails": True}) == []
    table = page.evaluate(
        "() => { const t = document.querySelector('table.member-table');"
        " return [t.getBoundingClientRect().width, t.parentElement.clientWidth]; }"
    )
    assert table[0] <= table[1] + 0.5, "the table is wider than the page: it scrolls sideways"
    # Every e-mail address is there whole, as the text and the target of its link.
    links = page.locator('table.member-table a[href^="mailto:"]')
    shown = {links.nth(i).inner_text().replace("\n", "") for i in range(links.count())}
    assert shown == {email for *_rest, email, _phone in PEOPLE if email}
    # Each filter is at least as wide as its longest choice, so no choice is cut off.
    cut_off = page.evaluate(
        """() => [...document.querySelectorAll(".member-filters select")].filter((select) => {
          const probe = select.cloneNode(true);
          probe.style.visibility = "hidden";
          probe.style.width = "auto"; probe.style.minWidth = "0"; probe.style.maxWidth = "none";
          probe.style.position = "absolute";
          document.body.appendChild(probe);
          const needed = probe.getBoundingClientRect().width;
          probe.remove();
          return select.getBoundingClientRect().width + 0.5 < needed;
        }).map((select) => select.name)"""
    )
    assert cut_off == []


def test_member_list_on_a_phone(phone_page, live_server, register):
    force_login(phone_page, make_persona("coordinator"), live_server)
    phone_page.goto("/leden/")

    assert phone_page.evaluate(BROKEN_WORDS, {"emails": False}) == []
    assert phone_page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
