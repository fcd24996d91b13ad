"""The minimum invoice amount of a scheme, and the dues-run preview's groups of skipped members."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from finance.documents import invoice_pdf
from finance.models import ContributionScheme, Invoice, MemberRate
from finance.services import FinanceError
from finance.services.dues import (
    SkipReason,
    dues_run_execute,
    dues_run_preview,
    member_rate_set,
    scheme_create,
    scheme_update,
)
from members.models import Member

from .factories import HouseholdFactory, MemberFactory

YEAR = 2025
pytestmark = pytest.mark.django_db


@pytest.fixture
def scheme():
    """Per remaining month, with a minimum of € 5,00 per invoice (no invoice below it)."""
    return scheme_create(
        year=YEAR,
        first_member_amount=Decimal("10.00"),
        further_member_amount=Decimal("7.50"),
        reduced_amount=Decimal("5.00"),
        mid_year=ContributionScheme.MidYear.PER_MONTH,
        minimum_invoice_amount=Decimal("5.00"),
    )


def household_with(*joined: dt.date, status=Member.Status.ACTIVE):
    household = HouseholdFactory()
    members = [MemberFactory(household=household, joined_on=day, status=status) for day in joined]
    return household, members


def invoice_of(household) -> Invoice:
    return Invoice.objects.get(household=household, dues_year=YEAR)


# The scheme --------------------------------------------------------------------------------------


def test_a_new_scheme_has_no_minimum():
    scheme = scheme_create(
        year=2030,
        first_member_amount=Decimal("10.00"),
        further_member_amount=Decimal("7.50"),
        reduced_amount=Decimal("5.00"),
    )
    scheme.refresh_from_db()
    assert scheme.minimum_invoice_amount == Decimal("0.00")
    assert scheme.below_minimum == ContributionScheme.BelowMinimum.SKIP


def test_the_minimum_is_checked(scheme):
    with pytest.raises(FinanceError, match="negatief"):
        scheme_update(scheme=scheme, minimum_invoice_amount=Decimal("-1.00"))
    with pytest.raises(FinanceError, match="minimumbedrag"):
        scheme_update(scheme=scheme, below_minimum="round_up")
    with pytest.raises(TypeError):
        scheme_update(scheme=scheme, minimum_invoice_amount=5.0)
    scheme_update(scheme=scheme, minimum_invoice_amount=Decimal("2.505"))
    scheme.refresh_from_db()
    assert scheme.minimum_invoice_amount == Decimal("2.51")
    with pytest.raises(IntegrityError), transaction.atomic():
        ContributionScheme.objects.filter(pk=scheme.pk).update(
            minimum_invoice_amount=Decimal("-0.01")
        )


def test_the_scheme_form_saves_the_minimum(client, treasurer):
    client.force_login(treasurer)
    url = reverse("finance:scheme_create")
    form = client.get(url).content.decode()
    assert 'name="minimum_invoice_amount"' in form and 'name="below_minimum"' in form
    data = {
        "year": "2031",
        "first_member_amount": "10,00",
        "further_member_amount": "7,50",
        "reduced_amount": "5,00",
        "mid_year": "per_month",
        "due_days": "30",
        "description": "Contributie",
        "minimum_invoice_amount": "-1",
        "below_minimum": "charge",
    }
    response = client.post(url, data)
    assert response.status_code == 200 and not ContributionScheme.objects.exists()
    response = client.post(url, {**data, "minimum_invoice_amount": "2,50"})
    assert response.status_code == 302
    scheme = ContributionScheme.objects.get(year=2031)
    assert scheme.minimum_invoice_amount == Decimal("2.50")
    assert scheme.below_minimum == ContributionScheme.BelowMinimum.CHARGE
    edit = client.get(reverse("finance:scheme_edit", args=[scheme.pk])).content.decode()
    assert 'value="2,50"' in edit


# The minimum in a pro-rata run -------------------------------------------------------------------


def test_below_the_minimum_the_household_is_skipped(scheme):
    december, _ = household_with(dt.date(YEAR, 12, 1))  # 10,00 × 1 / 12 = 0,83
    # Two members from July: 5,00 + 3,75. Each line is below the minimum; the invoice is not.
    july, _ = household_with(dt.date(YEAR, 7, 1), dt.date(YEAR, 7, 2))
    exactly, _ = household_with(dt.date(YEAR, 7, 1))  # 10,00 × 6 / 12 = 5,00: the minimum itself
    whole_year, _ = household_with(dt.date(2020, 1, 1))

    preview = dues_run_preview(year=YEAR)
    below = preview.skipped_in(SkipReason.BELOW_MINIMUM)
    assert [(item.household_id, item.member_id) for item in below] == [(december.pk, None)]
    assert "€ 0,83" in below[0].reason and "€ 5,00" in below[0].reason
    assert (SkipReason.BELOW_MINIMUM, 1) in preview.skipped_groups()
    assert preview.raised_to_minimum() == []

    result = dues_run_execute(year=YEAR)
    assert result.created == 3
    assert not Invoice.objects.filter(household=december).exists()
    assert invoice_of(july).total == Decimal("8.75")
    assert invoice_of(exactly).total == Decimal("5.00")
    assert invoice_of(exactly).lines.count() == 1
    assert invoice_of(whole_year).total == Decimal("10.00")

    # Running again books nothing new, and still lists the household as below the minimum.
    assert dues_run_execute(year=YEAR).created == 0
    again = dues_run_preview(year=YEAR).skipped_in(SkipReason.BELOW_MINIMUM)
    assert [item.household_id for item in again] == [december.pk]


def test_below_the_minimum_the_household_pays_the_minimum(scheme):
    scheme_update(scheme=scheme, below_minimum=ContributionScheme.BelowMinimum.CHARGE)
    december, (late,) = household_with(dt.date(YEAR, 12, 1))
    # November: 10,00 × 2 / 12 = 1,67 and 7,50 × 2 / 12 = 1,25; together 2,92.
    november, _ = household_with(dt.date(YEAR, 11, 1), dt.date(YEAR, 11, 3))
    whole_year, _ = household_with(dt.date(2020, 1, 1))

    preview = dues_run_preview(year=YEAR)
    assert preview.skipped_in(SkipReason.BELOW_MINIMUM) == []
    raised = {planned.household_id: planned.raised_from for planned in preview.raised_to_minimum()}
    assert raised == {december.pk: Decimal("0.83"), november.pk: Decimal("2.92")}
    assert preview.total == Decimal("20.00")

    result = dues_run_execute(year=YEAR)
    assert result.created == 3 and result.total == Decimal("20.00")
    invoice = invoice_of(december)
    assert invoice.total == Decimal("5.00")
    lines = list(invoice.lines.all())
    assert [(line.member_id, line.amount) for line in lines] == [
        (late.pk, Decimal("0.83")),
        (None, Decimal("4.17")),
    ]
    assert "Minimumbedrag" in lines[1].description and "€ 0,83" in lines[1].description
    assert invoice_pdf(invoice).startswith(b"%PDF")  # a line without a member prints too
    pair = invoice_of(november)
    assert pair.total == Decimal("5.00")
    assert [line.amount for line in pair.lines.all()] == [
        Decimal("1.67"),
        Decimal("1.25"),
        Decimal("2.08"),
    ]
    assert invoice_of(whole_year).lines.count() == 1
    assert dues_run_execute(year=YEAR).created == 0


def test_a_household_that_pays_nothing_is_not_charged_the_minimum(scheme):
    scheme_update(scheme=scheme, below_minimum=ContributionScheme.BelowMinimum.CHARGE)
    household, (honorary,) = household_with(dt.date(2010, 1, 1))
    member_rate_set(member=honorary, rate=MemberRate.Rate.FREE, reason="erelid")
    preview = dues_run_preview(year=YEAR)
    assert preview.invoices == []
    assert [item.member_id for item in preview.skipped_in(SkipReason.FREE)] == [honorary.pk]
    assert dues_run_execute(year=YEAR).created == 0
    assert not Invoice.objects.filter(household=household).exists()


def test_no_minimum_leaves_small_invoices_alone(scheme):
    scheme_update(scheme=scheme, minimum_invoice_amount=Decimal("0"))
    december, _ = household_with(dt.date(YEAR, 12, 1))
    dues_run_execute(year=YEAR)
    assert invoice_of(december).total == Decimal("0.83")
    assert invoice_of(december).lines.count() == 1


# The preview page: groups and pages ---------------------------------------------------------------


def group_rows(html: str) -> int:
    section = html.split('id="groep"', 1)[1].split("</section>", 1)[0]
    return section.count("<tr>") - 1  # minus the header row


def test_the_preview_groups_the_skipped_members(client, treasurer, scheme):
    for _ in range(120):
        MemberFactory(status=Member.Status.APPLIED, joined_on=None)
    free = [MemberFactory(joined_on=dt.date(2020, 1, 1)) for _ in range(2)]
    for member in free:
        member_rate_set(member=member, rate=MemberRate.Rate.FREE, reason="erelid")
    household_with(dt.date(YEAR + 1, 2, 1))
    household_with(dt.date(YEAR, 12, 1))  # below the minimum
    household_with(dt.date(2020, 1, 1))  # and one who pays

    client.force_login(treasurer)
    url = reverse("finance:dues_run", args=[YEAR])
    html = client.get(url).content.decode()
    summary = html.split('id="skipped-heading"', 1)[1].split("</table>", 1)[0]
    counts = dict(
        re.findall(r"<td data-label=\"Reden\">([^<]+)</td>\s*<td[^>]*>(\d+)</td>", summary)
    )
    assert counts == {
        "Aangemeld, nog geen lid": "120",
        "Lid vanaf een later jaar": "1",
        "Gratis lid": "2",
        "Onder het minimumbedrag": "1",
    }
    assert f'href="?groep={SkipReason.APPLIED.value}#groep"' in html
    assert 'id="groep"' not in html  # no group open: the page stays short
    assert html.count("Aangemeld, nog geen lid.") == 0

    first = client.get(url, {"groep": SkipReason.APPLIED.value}).content.decode()
    assert group_rows(first) == 50
    assert "Pagina 1 van 3" in first
    assert f"groep={SkipReason.APPLIED.value}&amp;page=2#groep" in first
    last = client.get(url, {"groep": SkipReason.APPLIED.value, "page": "3"}).content.decode()
    assert group_rows(last) == 20 and "Pagina 3 van 3" in last

    free_page = client.get(url, {"groep": SkipReason.FREE.value}).content.decode()
    assert group_rows(free_page) == 2 and "Gratis lid: erelid" in free_page
    below = client.get(url, {"groep": SkipReason.BELOW_MINIMUM.value}).content.decode()
    assert group_rows(below) == 1 and "€ 0,83" in below
    for nonsense in ("onbekend", "minimumbedrag", SkipReason.ZERO.value, "<script>"):
        page = client.get(url, {"groep": nonsense})
        assert page.status_code == 200 and 'id="groep"' not in page.content.decode()
    page = client.get(url, {"groep": SkipReason.APPLIED.value, "page": "x99"})
    assert page.status_code == 200 and group_rows(page.content.decode()) == 50
    assert not Invoice.objects.exists()


def test_the_preview_lists_who_pays_the_minimum(client, treasurer, scheme):
    scheme_update(scheme=scheme, below_minimum=ContributionScheme.BelowMinimum.CHARGE)
    household = HouseholdFactory(street="Kerkweg")
    MemberFactory(household=household, joined_on=dt.date(YEAR, 12, 1), given_name="Dirkje")
    household_with(dt.date(2020, 1, 1))
    client.force_login(treasurer)
    url = reverse("finance:dues_run", args=[YEAR])
    html = client.get(url).content.decode()
    assert "1 huishouden komt onder het minimumbedrag uit en betaalt € 5,00." in html
    assert "Minimumbedrag per factuur: € 5,00." in html
    assert "Minimumbedrag (het totaal was € 0,83)" in html  # the line on the invoice
    assert "Onder het minimumbedrag" not in html  # nobody is skipped for it
    group = client.get(url, {"groep": "minimumbedrag"}).content.decode()
    assert group_rows(group) == 1
    section = group.split('id="groep"', 1)[1]
    assert "Kerkweg" in section and "€ 0,83" in section and "€ 5,00" in section


def test_new_members_of_an_invoiced_household_are_a_group(client, treasurer, scheme):
    household, _ = household_with(dt.date(2020, 1, 1))
    dues_run_execute(year=YEAR)
    MemberFactory(household=household, joined_on=dt.date(YEAR, 3, 1), given_name="Nieuwe")
    client.force_login(treasurer)
    url = reverse("finance:dues_run", args=[YEAR])
    html = client.get(url, {"groep": SkipReason.NEW_IN_INVOICED.value}).content.decode()
    assert "Nieuw lid in een huishouden dat al een factuur heeft" in html
    assert "Spreek met het huishouden af hoe zij betalen." in html
    assert group_rows(html) == 1 and "Nieuwe" in html


def test_the_preview_takes_the_same_queries_for_10_or_200_skipped(client, treasurer, scheme):
    household_with(dt.date(2020, 1, 1))
    for _ in range(10):
        MemberFactory(status=Member.Status.APPLIED, joined_on=None)
    client.force_login(treasurer)
    url = reverse("finance:dues_run", args=[YEAR])
    asks = [{}, {"groep": SkipReason.APPLIED.value}, {"groep": SkipReason.APPLIED.value, "page": 2}]
    client.get(url)  # the session's first request

    def queries() -> list[int]:
        counted = []
        for ask in asks:
            with CaptureQueriesContext(connection) as context:
                assert client.get(url, ask).status_code == 200
            counted.append(len(context.captured_queries))
        return counted

    few = queries()
    for _ in range(190):
        MemberFactory(status=Member.Status.APPLIED, joined_on=None)
    many = queries()
    assert many == few
    html = client.get(url, {"groep": SkipReason.APPLIED.value, "page": 4}).content.decode()
    assert group_rows(html) == 50 and "Pagina 4 van 4" in html
