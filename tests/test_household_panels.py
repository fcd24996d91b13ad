"""This year's contribution on the coordinator's member and household pages, through the panel
registry in coop.core.panels: paid, open or in collection, never bank details."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from coop.core import panels
from finance.models import CollectionBatch
from finance.services.identifiers import iban_masked
from finance.services.invoices import payment_record_manual

from .factories import MemberFactory
from .sepa_support import exported_batch, household_with_mandate, make_invoice

pytestmark = pytest.mark.django_db

YEAR = timezone.localdate().year


@pytest.fixture
def household_member():
    """A member whose household signed a mandate (so there is an IBAN that must not show)."""
    member, mandate = household_with_mandate(11)
    return member, mandate


def pages(client, member) -> list[str]:
    urls = [
        reverse("members:member_detail", args=[member.pk]),
        reverse("members:household_detail", args=[member.household_id]),
    ]
    html = []
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        html.append(response.content.decode())
    return html


def dues_panel(html: str) -> str:
    start = html.index('aria-labelledby="panel-dues-heading"')
    return html[start : html.index("</section>", start)]


def invoice(member, total="17.50", **kwargs):
    return make_invoice(
        member.household,
        Decimal(total),
        year=YEAR,
        issued_on=dt.date(YEAR, 1, 15),
        due_on=dt.date(YEAR, 2, 14),
        **kwargs,
    )


def test_no_invoice_this_year(coordinator_client, household_member):
    member, _mandate = household_member
    make_invoice(member.household, Decimal("10.00"), year=YEAR - 1)  # last year's is not it
    for html in pages(coordinator_client, member):
        panel = dues_panel(html)
        assert f"Contributie {YEAR}" in panel
        assert "Geen factuur" in panel


def test_open(coordinator_client, household_member):
    member, _mandate = household_member
    open_invoice = invoice(member)
    for html in pages(coordinator_client, member):
        panel = dues_panel(html)
        assert "badge--open" in panel and ">Open<" in panel
        assert open_invoice.number in panel
        assert "€ 17,50" in panel
        assert f"14 februari {YEAR}" in panel


def test_partly_paid(coordinator_client, household_member):
    member, _mandate = household_member
    partly = invoice(member)
    payment_record_manual(invoice=partly, amount=Decimal("5.00"), booked_on=dt.date(YEAR, 2, 1))
    for html in pages(coordinator_client, member):
        assert "Deels betaald" in dues_panel(html)


def test_paid(coordinator_client, household_member):
    member, _mandate = household_member
    paid = invoice(member)
    payment_record_manual(invoice=paid, amount=Decimal("17.50"), booked_on=dt.date(YEAR, 2, 1))
    for html in pages(coordinator_client, member):
        panel = dues_panel(html)
        assert "badge--paid" in panel and "Betaald" in panel
        assert paid.number in panel and "€ 17,50" in panel
        assert "Te betalen vóór" not in panel


def test_in_collection_only_once_the_batch_went_to_the_bank(coordinator_client, household_member):
    member, mandate = household_member
    debited = invoice(member)
    batch, _items = exported_batch([(debited, mandate)], collection_date=dt.date(YEAR, 3, 1))
    for html in pages(coordinator_client, member):
        panel = dues_panel(html)
        assert "Wordt afgeschreven (incasso)" in panel
        assert f"1 maart {YEAR}" in panel
    # A batch still being put together is not a collection yet.
    CollectionBatch.objects.filter(pk=batch.pk).update(status=CollectionBatch.Status.DRAFT)
    for html in pages(coordinator_client, member):
        assert ">Open<" in dues_panel(html)


def test_no_bank_details_for_coordinators_and_a_link_for_the_treasurer(
    client, coordinator, treasurer, household_member
):
    member, mandate = household_member
    invoice(member)
    iban = mandate.iban
    forms = {iban, " ".join(iban[i : i + 4] for i in range(0, len(iban), 4)), iban_masked(iban)}
    balance = reverse("finance:household_balance", args=[member.household_id])
    client.force_login(coordinator)
    for html in pages(client, member):
        assert not any(form in html for form in forms)
        assert mandate.reference not in html
        assert balance not in html
    client.force_login(treasurer)
    for html in pages(client, member):
        assert not any(form in dues_panel(html) for form in forms)
        assert balance in dues_panel(html)


def test_the_panel_costs_one_query_whatever_the_household_holds(
    coordinator_client, household_member
):
    member, mandate = household_member
    url = reverse("members:household_detail", args=[member.household_id])
    detail = reverse("members:member_detail", args=[member.pk])

    def count(page) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert coordinator_client.get(page).status_code == 200
        return len(captured)

    without = panels._panels.copy()
    try:
        panels._panels.clear()
        bare = count(url), count(detail)
    finally:
        panels._panels.update(without)
    few = count(url), count(detail)
    assert few == (bare[0] + 1, bare[1] + 1)

    # More members, more invoices and debits: the same number of queries.
    for _ in range(3):
        MemberFactory(household=member.household)
    this_year = invoice(member)
    for year in (YEAR - 2, YEAR - 1):
        make_invoice(member.household, Decimal("10.00"), year=year)
    exported_batch([(this_year, mandate)], collection_date=dt.date(YEAR, 3, 1))
    assert (count(url), count(detail)) == few


def test_registry_refuses_a_taken_key_and_hides_a_panel_that_answers_none(coordinator):
    def first(household, *, user):
        return None

    def second(household, *, user):
        return {}

    saved = panels._panels.copy()
    try:
        panels.register_household_panel("test_panel", template="x.html")(first)
        panels.register_household_panel("test_panel", template="x.html")(first)  # same: fine
        with pytest.raises(ImproperlyConfigured):
            panels.register_household_panel("test_panel", template="y.html")(second)
        household = MemberFactory().household
        shown = {p.key for p in panels.household_panels(household, user=coordinator)}
        assert shown == {"dues"}
        assert "dues" in {p.key for p in panels.household_panels_registered()}
    finally:
        panels._panels.clear()
        panels._panels.update(saved)
