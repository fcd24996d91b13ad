"""The call list: on the dashboard and in the menu with its count, a phone link per number, and
notes on each call that decide whether the invoice waits, stays, or goes to the treasurer."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from coop.core.templatetags.coop_phone import tel_uri
from finance.models import CallNote, Invoice
from finance.sepa_selectors import (
    CALL_AGREED,
    CALL_CANNOT_PAY,
    CALL_TO_CALL,
    call_list,
    call_list_count,
    call_list_summary,
)
from finance.services import FinanceError
from finance.services.calls import PAYMENT_GRACE_DAYS, PROMISE_DAYS, call_note_record
from finance.services.ledger import ledger_book

from .conftest import make_persona
from .factories import HouseholdFactory, MemberFactory
from .sepa_support import household_with_mandate, make_invoice

pytestmark = pytest.mark.django_db

OUTCOME = CallNote.Outcome


def on_call_list(phone: str = "0555-120936", **member) -> Invoice:
    """An unpaid invoice after two reminders, for a household with one member."""
    person = MemberFactory(
        household=HouseholdFactory(street="Lindeplein", house_number=28),
        phone=phone,
        **member,
    )
    invoice = make_invoice(person.household)
    Invoice.objects.filter(pk=invoice.pk).update(reminder_level=3)
    invoice.refresh_from_db()
    return invoice


def today() -> dt.date:
    return timezone.localdate()


def groups(day: dt.date | None = None) -> dict[int, str]:
    return {row.invoice.pk: row.group for row in call_list(today=day or today())}


def note(invoice, outcome, by=None, **kwargs) -> CallNote:
    return call_note_record(invoice=invoice, outcome=outcome, by=by, **kwargs)


# The phone link ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "href"),
    [
        ("0555-120936", "tel:+31555120936"),
        ("06 12 34 56 78", "tel:+31612345678"),
        ("06-12345678", "tel:+31612345678"),
        ("+31 (0)6 1234 5678", "tel:+31612345678"),
        ("0031 555 120936", "tel:+31555120936"),
        ("+32 2 123 45 67", "tel:+3221234567"),
        ("0800-1234", "tel:08001234"),
        ("112", "tel:112"),
        ("", ""),
        ("onbekend", ""),
    ],
)
def test_a_phone_number_becomes_a_link_a_phone_can_dial(typed, href):
    assert tel_uri(typed) == href


def test_each_row_has_its_numbers_as_phone_links_and_a_way_to_note_the_call(coordinator_client):
    invoice = on_call_list()
    MemberFactory(household=invoice.household, phone="06 12345678", given_name="Truus")
    html = coordinator_client.get(reverse("finance:call_list")).content.decode()
    assert '<a href="tel:+31555120936">0555-120936</a>' in html
    assert '<a href="tel:+31612345678">06 12345678</a>' in html
    assert reverse("finance:call_note", args=[invoice.pk]) in html
    assert "Nog niet gebeld" in html


def test_a_number_without_digits_is_shown_but_not_linked(coordinator_client):
    on_call_list(phone="(geheim)")
    html = coordinator_client.get(reverse("finance:call_list")).content.decode()
    assert "(geheim)" in html and 'href="tel:' not in html.split("<main", 1)[1].split("</main>")[0]


# Noting a call ----------------------------------------------------------------------------------


def test_noting_a_call_shows_its_outcome_and_date_on_the_list(coordinator_client, coordinator):
    invoice = on_call_list()
    url = reverse("finance:call_note", args=[invoice.pk])
    page = coordinator_client.get(url).content.decode()
    assert "0555-120936" in page and invoice.number in page and "€ 17,50" in page
    response = coordinator_client.post(
        url, {"outcome": OUTCOME.NOT_REACHED, "note": "Voicemail ingesproken"}
    )
    assert response.status_code == 302 and response["Location"] == reverse("finance:call_list")
    saved = CallNote.objects.get()
    assert (saved.invoice, saved.outcome, saved.called_by) == (
        invoice,
        OUTCOME.NOT_REACHED,
        coordinator,
    )
    assert saved.promised_on is None and saved.follow_up_on is None
    html = coordinator_client.get(response["Location"]).content.decode()
    assert f"Het gesprek over factuur {invoice.number} is genoteerd." in html
    assert "Niet bereikt" in html and "Voicemail ingesproken" in html
    assert timezone.localtime(saved.called_at).strftime("%-d") in html
    assert groups() == {invoice.pk: CALL_TO_CALL}  # not reached: still to call


def test_the_call_page_lists_earlier_calls_newest_first(coordinator_client, coordinator):
    invoice = on_call_list()
    note(invoice, OUTCOME.NOT_REACHED, by=coordinator, note="eerste keer")
    note(invoice, OUTCOME.WRONG_NUMBER, by=coordinator, note="tweede keer")
    html = coordinator_client.get(reverse("finance:call_note", args=[invoice.pk])).content.decode()
    assert html.index("tweede keer") < html.index("eerste keer")
    assert "coordinator@example.org" in html


def test_a_promise_with_a_date_waits_until_a_week_after_that_date(coordinator_client):
    invoice = on_call_list()
    promised = today() + dt.timedelta(days=10)
    response = coordinator_client.post(
        reverse("finance:call_note", args=[invoice.pk]),
        {"outcome": OUTCOME.WILL_PAY, "promised_on": promised.isoformat()},
    )
    assert response.status_code == 302
    saved = CallNote.objects.get()
    assert saved.follow_up_on == promised + dt.timedelta(days=PAYMENT_GRACE_DAYS)
    assert groups() == {invoice.pk: CALL_AGREED}
    assert call_list_count(today=today()) == 0
    last_waiting_day = saved.follow_up_on - dt.timedelta(days=1)
    assert groups(last_waiting_day) == {invoice.pk: CALL_AGREED}
    assert groups(saved.follow_up_on) == {invoice.pk: CALL_TO_CALL}  # still unpaid: ring again
    assert call_list_count(today=saved.follow_up_on) == 1
    html = coordinator_client.get(reverse("finance:call_list")).content.decode()
    assert "Afgesproken (1)" in html and "Nog bellen (0)" in html
    assert "Niemand om te bellen." in html


def test_a_promise_without_a_date_waits_two_weeks(coordinator):
    invoice = on_call_list()
    saved = note(invoice, OUTCOME.PAYMENT_PLAN, by=coordinator)
    assert saved.follow_up_on == today() + dt.timedelta(days=PROMISE_DAYS)
    assert groups() == {invoice.pk: CALL_AGREED}


def test_cannot_pay_goes_to_the_treasurer_and_is_not_called_again(coordinator, treasurer, client):
    invoice = on_call_list()
    note(invoice, OUTCOME.CANNOT_PAY, by=coordinator, note="Schulden, wil hulp")
    assert groups(today() + dt.timedelta(days=400)) == {invoice.pk: CALL_CANNOT_PAY}
    assert call_list_count(today=today()) == 0
    client.force_login(treasurer)
    html = client.get(reverse("finance:call_list")).content.decode()
    assert "Kan niet betalen (1)" in html and "De penningmeester kijkt" in html


def test_the_newest_note_decides(coordinator):
    invoice = on_call_list()
    note(invoice, OUTCOME.WILL_PAY, by=coordinator)
    assert groups() == {invoice.pk: CALL_AGREED}
    note(invoice, OUTCOME.NOT_REACHED, by=coordinator)
    assert groups() == {invoice.pk: CALL_TO_CALL}


def test_a_payment_takes_the_invoice_off_the_list_whatever_the_notes_say(coordinator):
    invoice = on_call_list()
    note(invoice, OUTCOME.WILL_PAY, by=coordinator)
    ledger_book(
        invoice=invoice,
        kind="payment",
        source="transfer",
        amount=Decimal("17.50"),
        booked_on=today(),
        external_id="call-paid",
    )
    assert call_list(today=today()) == []
    with pytest.raises(FinanceError, match="afgehandeld"):
        note(invoice, OUTCOME.NOT_REACHED, by=coordinator)


def test_only_invoices_on_the_call_list_have_a_call_page(coordinator_client):
    invoice = make_invoice(MemberFactory().household)  # not reminded yet
    assert (
        coordinator_client.get(reverse("finance:call_note", args=[invoice.pk])).status_code == 404
    )
    with pytest.raises(FinanceError):
        note(invoice, OUTCOME.NOT_REACHED)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"outcome": ""}, "outcome"),
        ({"outcome": "bestaat-niet"}, "outcome"),
        ({"outcome": OUTCOME.NOT_REACHED, "promised_on": "__today__"}, "promised_on"),
        ({"outcome": OUTCOME.WILL_PAY, "promised_on": "__yesterday__"}, "promised_on"),
        ({"outcome": OUTCOME.WILL_PAY, "promised_on": "__in_two_years__"}, "promised_on"),
        ({"outcome": OUTCOME.OTHER, "note": "x" * 1001}, "note"),
    ],
)
def test_a_wrong_form_is_shown_again_and_saves_nothing(coordinator_client, data, field):
    invoice = on_call_list()
    dates = {
        "__today__": today(),
        "__yesterday__": today() - dt.timedelta(days=1),
        "__in_two_years__": today() + dt.timedelta(days=730),
    }
    if "promised_on" in data:
        data = {**data, "promised_on": dates[data["promised_on"]].isoformat()}
    response = coordinator_client.post(reverse("finance:call_note", args=[invoice.pk]), data)
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert "Niet alles is goed ingevuld" in response.content.decode()
    assert not CallNote.objects.exists()


def test_the_database_refuses_a_promised_date_on_a_call_without_a_promise():
    invoice = on_call_list()
    with pytest.raises(IntegrityError):
        CallNote.objects.create(
            invoice=invoice,
            called_at=timezone.now(),
            outcome=OUTCOME.NOT_REACHED,
            promised_on=today(),
            follow_up_on=today(),
        )


def test_coordinators_see_no_bank_details_when_noting_a_call(coordinator_client):
    member, mandate = household_with_mandate(7)
    member.phone = "06 11112222"
    member.save()
    invoice = make_invoice(member.household)
    Invoice.objects.filter(pk=invoice.pk).update(reminder_level=3)
    for url in (reverse("finance:call_list"), reverse("finance:call_note", args=[invoice.pk])):
        html = coordinator_client.get(url).content.decode()
        assert "06 11112222" in html
        assert mandate.iban not in html and mandate.iban[-6:] not in html and "IBAN" not in html


# The count: on the dashboard and in the menu ----------------------------------------------------


def test_the_count_is_one_query_and_counts_only_who_is_still_to_call(coordinator):
    waiting, cannot, to_call = on_call_list(), on_call_list(), on_call_list()
    note(waiting, OUTCOME.WILL_PAY, by=coordinator)
    note(cannot, OUTCOME.CANNOT_PAY, by=coordinator)
    note(to_call, OUTCOME.WRONG_NUMBER, by=coordinator)
    on_call_list()  # not called yet
    with CaptureQueriesContext(connection) as queries:
        assert call_list_count(today=today()) == 2
    assert len(queries) == 1 and "COUNT(" in queries[0]["sql"].upper()
    assert call_list_summary(today=today()) == {
        CALL_TO_CALL: 2,
        CALL_AGREED: 1,
        CALL_CANNOT_PAY: 1,
    }


def _nav(html: str) -> str:
    return re.search(r'<nav aria-label="Hoofdmenu".*?</nav>', html, re.S).group(0)


@pytest.mark.parametrize("role", ["coordinator", "treasurer"])
def test_the_menu_links_the_call_list_with_its_count(client, role):
    on_call_list()
    on_call_list()
    client.force_login(make_persona(role))
    nav = _nav(client.get(reverse("dashboard:coordinator")).content.decode())
    assert f'<a href="{reverse("finance:call_list")}">Bellijst (2)</a>' in nav


def test_the_menu_marks_the_call_list_as_the_current_page(coordinator_client):
    invoice = on_call_list()
    for url in (reverse("finance:call_list"), reverse("finance:call_note", args=[invoice.pk])):
        nav = _nav(coordinator_client.get(url).content.decode())
        assert f'<a href="{reverse("finance:call_list")}" aria-current="page">Bellijst (1)' in nav


def test_without_anyone_to_call_the_menu_has_no_call_list(coordinator_client):
    nav = _nav(coordinator_client.get(reverse("dashboard:coordinator")).content.decode())
    assert reverse("finance:call_list") not in nav


@pytest.mark.parametrize("persona_name", ["member", "outsider", "volunteer", "buurtassistent"])
def test_others_get_no_count_and_cost_no_query(client, persona_name):
    on_call_list()
    client.force_login(make_persona(persona_name))
    response = client.get(reverse("dashboard:home"), follow=True)
    assert "call_list_count" not in response.context
    assert reverse("finance:call_list") not in response.content.decode()


def test_the_dashboard_shows_the_count_and_links_the_call_list(coordinator_client, coordinator):
    on_call_list()
    on_call_list()
    agreed = on_call_list()
    note(agreed, OUTCOME.WILL_PAY, by=coordinator)
    html = coordinator_client.get(reverse("dashboard:coordinator")).content.decode()
    card = re.search(
        r'<div class="card">\s*<span class="card__figure">2</span>.*?</div>', html, re.S
    )
    assert card is not None, "no card with the call list's count"
    assert "onbetaalde facturen om na te bellen" in card.group(0)
    assert f'href="{reverse("finance:call_list")}"' in card.group(0)
    assert "1 afspraak" in card.group(0)


def test_the_call_list_page_costs_the_same_queries_for_one_row_or_many(coordinator_client):
    def queries_for_page() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert coordinator_client.get(reverse("finance:call_list")).status_code == 200
        return len(queries)

    note(on_call_list(), OUTCOME.NOT_REACHED)
    one = queries_for_page()
    for _ in range(5):
        invoice = on_call_list()
        note(invoice, OUTCOME.WILL_PAY)
        note(invoice, OUTCOME.NOT_REACHED)
    assert queries_for_page() == one
