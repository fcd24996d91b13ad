"""Households and their money over time: a household whose members left gets no new invoice
(nor debit), a member who moved still sees and pays their old household's invoices, iDEAL waits
for a debit sent to the bank, links use the site's address, invoice lines in the member's
language."""

import datetime as dt
from decimal import Decimal

import pytest
from django.test import RequestFactory
from django.urls import reverse
from django.utils import translation

from coop.lib.urls import absolute_url, site_url
from finance.documents import invoice_pdf_context
from finance.models import ContributionScheme, Invoice, InvoiceLine, LedgerEntry, Payment
from finance.selectors import (
    household_has_current_member,
    households_departed,
    invoices_for_user,
)
from finance.services import FinanceError
from finance.services.contact import invoice_pay_url
from finance.services.dues import (
    SkipReason,
    dues_run_execute,
    dues_run_preview,
    scheme_create,
    scheme_update,
)
from finance.services.payments import payment_start
from members.models import Household, Member, MembershipNotice
from members.services import member_link_user, member_move

from .factories import HouseholdFactory, MemberFactory, UserFactory
from .sepa_support import exported_batch, household_with_mandate, make_invoice

pytestmark = pytest.mark.django_db

YEAR = 2027


@pytest.fixture
def scheme():
    return scheme_create(
        year=YEAR,
        first_member_amount=Decimal("10.00"),
        further_member_amount=Decimal("7.50"),
        reduced_amount=Decimal("5.00"),
    )


@pytest.fixture
def demo(settings):
    settings.PAYMENT_PROVIDER = "demo"
    settings.COOP_DEMO = True
    settings.SITE_URL = "https://leden.example.org"


def ended(household, ended_on, status=Member.Status.CANCELLED):
    return MemberFactory(
        household=household, status=status, ended_on=ended_on, joined_on=dt.date(2020, 1, 1)
    )


def active(household, **kwargs):
    return MemberFactory(household=household, joined_on=dt.date(2020, 1, 1), **kwargs)


def notice(member, end_on):
    return MembershipNotice.objects.create(
        member=member, given_at=dt.datetime(2026, 11, 1, tzinfo=dt.UTC), end_on=end_on
    )


def logged_in(client, member):
    user = UserFactory(email=member.email)
    member_link_user(member=member, user=user)
    client.force_login(user)
    return client


# 1. Departed households ---------------------------------------------------------------------


def test_a_household_whose_members_all_left_gets_no_invoice_for_the_next_year(scheme):
    gone = HouseholdFactory()
    ended(gone, dt.date(YEAR - 1, 12, 31))
    ended(gone, dt.date(YEAR - 1, 6, 30), status=Member.Status.DECEASED)
    half = HouseholdFactory()
    ended(half, dt.date(YEAR - 1, 12, 31))
    stays = active(half)
    leaving = HouseholdFactory()
    # Gave notice per the end of the year; the coordinator has not confirmed it yet.
    leaver = active(leaving)
    notice(leaver, dt.date(YEAR - 1, 12, 31))
    staying_on = HouseholdFactory()
    # Notice per the end of YEAR itself: a member all of YEAR, so charged.
    notice(active(staying_on), dt.date(YEAR, 12, 31))

    preview = dues_run_preview(year=YEAR)
    assert sorted(p.household_id for p in preview.invoices) == sorted([half.pk, staying_on.pk])
    left = preview.skipped_in(SkipReason.LEFT)
    assert [item.member_id for item in left] == [leaver.pk]
    assert "31-12-2026" in left[0].reason
    assert (SkipReason.LEFT, 1) in preview.skipped_groups()

    result = dues_run_execute(year=YEAR)
    assert result.created == 2
    assert result.total == Decimal("20.00")
    assert not Invoice.objects.filter(household__in=[gone, leaving]).exists()
    invoice = Invoice.objects.get(household=half, dues_year=YEAR)
    assert list(invoice.lines.values_list("member_id", flat=True)) == [stays.pk]
    assert invoice.total == Decimal("10.00")
    assert LedgerEntry.objects.count() == 0


def test_household_has_current_member_on_a_day():
    gone = HouseholdFactory()
    ended(gone, dt.date(2026, 12, 31))
    leaving = HouseholdFactory()
    notice(active(leaving), dt.date(2026, 12, 31))
    living = HouseholdFactory()
    active(living)
    moved_out = HouseholdFactory()
    mover = active(moved_out)
    member_move(member=mover, to_household=living)
    empty = HouseholdFactory()

    def departed(on):
        return set(
            households_departed(on=on)
            .filter(pk__in=[gone.pk, leaving.pk, living.pk, moved_out.pk, empty.pk])
            .values_list("pk", flat=True)
        )

    # Until the end date they still count (notice per the end of the year).
    assert departed(dt.date(2026, 12, 31)) == {moved_out.pk, empty.pk}
    assert departed(dt.date(2027, 1, 1)) == {gone.pk, leaving.pk, moved_out.pk, empty.pk}
    # As a filter on invoices, the way the direct debit batch uses it.
    kept = make_invoice(living)
    make_invoice(gone)
    filtered = Invoice.objects.filter(household_has_current_member(on=dt.date(2027, 2, 1)))
    assert list(filtered) == [kept]
    assert Household.objects.filter(
        household_has_current_member(on=dt.date(2027, 2, 1), household="pk"), pk=living.pk
    ).exists()


# 2. A member who moved ----------------------------------------------------------------------


def test_a_moved_member_sees_and_pays_the_old_households_invoices(client, demo):
    old_home = HouseholdFactory()
    mover = active(old_home)
    stayer = active(old_home)
    before = make_invoice(old_home, Decimal("17.50"), issued_on=dt.date(2026, 1, 15))
    new_home = HouseholdFactory()
    member_move(member=mover, to_household=new_home, moved_on=dt.date(2026, 6, 1))
    # Issued to the old household after the move: the housemates' business only.
    after = make_invoice(old_home, Decimal("10.00"), year=2027, issued_on=dt.date(2026, 7, 1))
    new_invoice = make_invoice(new_home, Decimal("10.00"), issued_on=dt.date(2026, 7, 1))

    logged_in(client, mover)
    mover.refresh_from_db()
    assert set(invoices_for_user(mover.user)) == {before, new_invoice}
    page = client.get(reverse("finance:my_invoices")).content.decode()
    assert before.number in page and new_invoice.number in page
    assert after.number not in page

    pdf = client.get(reverse("finance:my_invoice_pdf", args=[before.pk]))
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    pay = client.get(reverse("finance:invoice_pay", args=[before.pk]))
    assert pay.status_code == 200
    assert "Betaal € 17,50 met iDEAL" in pay.content.decode()
    started = client.post(reverse("finance:invoice_pay", args=[before.pk]))
    assert started.status_code == 302
    payment = Payment.objects.get(invoice=before)
    assert payment.amount == Decimal("17.50")
    assert payment.created_by == mover.user
    for name in ("finance:my_invoice_pdf", "finance:invoice_pay"):
        assert client.get(reverse(name, args=[after.pk])).status_code == 404

    # The housemate who stayed still sees both.
    stayer_client = logged_in(type(client)(), stayer)
    stayer.refresh_from_db()
    assert set(invoices_for_user(stayer.user)) == {before, after}
    assert stayer_client.get(reverse("finance:invoice_pay", args=[before.pk])).status_code == 200

    # Someone else: 404 on every page of the invoice, and payment_start refuses.
    stranger = active(HouseholdFactory())
    stranger_client = logged_in(type(client)(), stranger)
    for name in ("finance:my_invoice_pdf", "finance:invoice_pay", "finance:payment_return"):
        assert stranger_client.get(reverse(name, args=[before.pk])).status_code == 404
    stranger.refresh_from_db()
    with pytest.raises(FinanceError, match="eigen huishouden"):
        payment_start(invoice=before, by=stranger.user)
    assert Payment.objects.count() == 1


def test_the_old_household_is_found_by_its_address_too(client):
    """The old invoice names the housemate only; the Move keeps the old address as text."""
    old_home = HouseholdFactory()
    stayer = active(old_home)
    mover = active(old_home)
    old = make_invoice(old_home)
    assert old.lines.get().member_id == stayer.pk
    second_home, third_home = HouseholdFactory(), HouseholdFactory()
    member_move(member=mover, to_household=second_home, moved_on=dt.date(2026, 6, 1))
    in_second = make_invoice(second_home, issued_on=dt.date(2026, 8, 1))
    member_move(member=mover, to_household=third_home, moved_on=dt.date(2026, 9, 1))
    before_arrival = make_invoice(second_home, year=2025, issued_on=dt.date(2026, 5, 1))
    logged_in(client, mover)
    mover.refresh_from_db()
    visible = set(invoices_for_user(mover.user))
    assert old in visible and in_second in visible
    assert before_arrival not in visible
    assert client.get(reverse("finance:invoice_pay", args=[old.pk])).status_code == 200


# 3. iDEAL and a debit sent to the bank --------------------------------------------------------


def test_ideal_refuses_an_invoice_in_an_exported_batch(client, demo):
    member, mandate = household_with_mandate(3)
    invoice = make_invoice(member.household)
    logged_in(client, member)
    member.refresh_from_db()
    payment_start(invoice=invoice, by=member.user)  # before the batch: fine
    Payment.objects.all().delete()
    exported_batch([(invoice, mandate)], collection_date=dt.date(2026, 12, 15))

    with translation.override("nl"), pytest.raises(FinanceError) as caught:
        payment_start(invoice=invoice, by=member.user)
    assert "op 15 december 2026 automatisch van uw rekening" in str(caught.value)
    assert not Payment.objects.exists()

    page = client.get(reverse("finance:invoice_pay", args=[invoice.pk])).content.decode()
    assert "15 december 2026" in page
    assert "met iDEAL</button>" not in page
    response = client.post(reverse("finance:invoice_pay", args=[invoice.pk]), follow=True)
    assert "15 december 2026" in response.content.decode()
    assert not Payment.objects.exists()
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.OPEN


# 4. Links use the site's address --------------------------------------------------------------


def test_links_use_site_url(settings):
    settings.SITE_URL = "https://leden.example.org"
    invoice = make_invoice(MemberFactory().household)
    assert invoice_pay_url(invoice) == (
        "https://leden.example.org" + reverse("finance:invoice_pay", args=[invoice.pk])
    )
    assert invoice_pdf_context(invoice)["portal_url"] == (
        "https://leden.example.org" + reverse("finance:my_invoices")
    )
    request = RequestFactory().get("/", HTTP_HOST="wijk.example.net")
    assert site_url("/x/", request=request) == "https://leden.example.org/x/"


def test_without_site_url_a_request_gives_the_address(settings):
    settings.SITE_URL = "http://127.0.0.1:8000"
    settings.ALLOWED_HOSTS = ["wijk.example.net"]
    request = RequestFactory().get("/", HTTP_HOST="wijk.example.net", secure=True)
    assert site_url("/x/", request=request) == "https://wijk.example.net/x/"
    assert absolute_url("finance:my_invoices") == (
        "http://127.0.0.1:8000" + reverse("finance:my_invoices")
    )


# 5. Invoice lines in the member's language ----------------------------------------------------


def test_invoice_lines_are_written_in_the_households_language(scheme):
    scheme_update(scheme=scheme, mid_year=ContributionScheme.MidYear.PER_MONTH)
    english = HouseholdFactory()
    first = active(english, given_name="Ann", tussenvoegsel="", family_name="Smith", language="en")
    MemberFactory(
        household=english,
        given_name="Bob",
        tussenvoegsel="",
        family_name="Smith",
        language="en",
        joined_on=dt.date(YEAR, 4, 1),
    )
    dutch = HouseholdFactory()
    active(dutch, given_name="Piet", tussenvoegsel="", family_name="Jansen", language="nl")

    with translation.override("nl"):
        result = dues_run_execute(year=YEAR)
    assert result.created == 2
    invoice = Invoice.objects.get(household=english)
    assert invoice.language == "en"
    assert list(invoice.lines.values_list("description", flat=True)) == [
        "Contribution 2027 – Ann Smith (first member)",
        "Contribution 2027 – Bob Smith (further member, 9 months)",
    ]
    assert invoice.recipient_name == "Ann Smith and Bob Smith"
    assert invoice.total == Decimal("10.00") + Decimal("5.63")
    assert first.pk == invoice.lines.first().member_id
    assert list(
        InvoiceLine.objects.filter(invoice__household=dutch).values_list("description", flat=True)
    ) == ["Contributie 2027 – Piet Jansen (eerste lid)"]


def test_the_preview_stays_in_the_treasurers_language(scheme):
    household = HouseholdFactory()
    active(household, given_name="Ann", tussenvoegsel="", family_name="Smith", language="en")
    MemberFactory(household=HouseholdFactory(), joined_on=dt.date(YEAR + 1, 2, 1), language="en")
    with translation.override("nl"):
        preview = dues_run_preview(year=YEAR)
    assert preview.invoices[0].lines[0].description.startswith("Contribution 2027")
    assert "na dit jaar" in preview.skipped[0].reason
