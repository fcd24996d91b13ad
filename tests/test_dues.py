"""Contribution schemes and the yearly dues run."""

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from coop.core.models import NumberSequence
from coop.core.services import sequence_key
from finance.models import ContributionScheme, Invoice, InvoiceLine, MemberRate
from finance.services import FinanceError
from finance.services.dues import (
    dues_run_execute,
    dues_run_preview,
    member_rate_set,
    scheme_create,
    scheme_update,
)
from members.models import Member
from members.services import Address, household_change_address, member_move

from .factories import HouseholdFactory, MemberFactory

YEAR = 2025
pytestmark = pytest.mark.django_db


def number_year() -> int:
    return timezone.localdate().year


def sequence_value() -> int:
    row = NumberSequence.objects.filter(
        name=sequence_key(f"finance.invoice.{number_year()}")
    ).first()
    return row.last_value if row else 0


@pytest.fixture
def scheme():
    return scheme_create(
        year=YEAR,
        first_member_amount=Decimal("10.00"),
        further_member_amount=Decimal("7.50"),
        reduced_amount=Decimal("5.00"),
    )


def household_with(*joined: dt.date, status=Member.Status.ACTIVE):
    household = HouseholdFactory()
    members = [MemberFactory(household=household, joined_on=day, status=status) for day in joined]
    return household, members


def invoice_of(household) -> Invoice:
    return Invoice.objects.get(household=household, dues_year=YEAR)


# Schemes -------------------------------------------------------------------------------------


def test_scheme_rejects_negative_amounts_and_duplicate_years(scheme):
    with pytest.raises(FinanceError, match="negatief"):
        scheme_create(
            year=2026,
            first_member_amount=Decimal("-1"),
            further_member_amount=Decimal("7.50"),
            reduced_amount=Decimal("0"),
        )
    with pytest.raises(FinanceError, match="negatief"):
        scheme_update(scheme=scheme, reduced_amount=Decimal("-0.01"))
    with pytest.raises(FinanceError, match="al een regeling"):
        scheme_create(
            year=YEAR,
            first_member_amount=Decimal("1"),
            further_member_amount=Decimal("1"),
            reduced_amount=Decimal("1"),
        )
    with pytest.raises(FinanceError):
        scheme_create(
            year=1999,
            first_member_amount=Decimal("1"),
            further_member_amount=Decimal("1"),
            reduced_amount=Decimal("1"),
        )
    assert ContributionScheme.objects.count() == 1
    scheme.refresh_from_db()
    assert scheme.reduced_amount == Decimal("5.00")


def test_scheme_amounts_cannot_be_negative_in_the_database(scheme):
    with pytest.raises(IntegrityError), transaction.atomic():
        ContributionScheme.objects.filter(pk=scheme.pk).update(first_member_amount=Decimal("-1"))


def test_scheme_is_locked_after_the_run(scheme):
    household_with(dt.date(2024, 3, 1))
    scheme_update(scheme=scheme, further_member_amount=Decimal("8.00"))
    dues_run_execute(year=YEAR)
    scheme.refresh_from_db()
    assert scheme.locked_at is not None
    with pytest.raises(FinanceError, match="al gebruikt voor de contributierun"):
        scheme_update(scheme=scheme, first_member_amount=Decimal("99.00"))
    scheme.refresh_from_db()
    assert scheme.first_member_amount == Decimal("10.00")
    assert scheme.further_member_amount == Decimal("8.00")


def test_member_rate_needs_a_reason_for_reduced_and_free():
    member = MemberFactory()
    with pytest.raises(FinanceError, match="reden"):
        member_rate_set(member=member, rate=MemberRate.Rate.FREE, reason=" ")
    with pytest.raises(FinanceError):
        member_rate_set(member=member, rate="gold")
    member_rate_set(member=member, rate=MemberRate.Rate.REDUCED, reason="minima")
    member_rate_set(member=member, rate=MemberRate.Rate.FREE, reason="erelid")
    assert MemberRate.objects.get(member=member).rate == MemberRate.Rate.FREE


# Amounts -------------------------------------------------------------------------------------


def test_hollandscheveld_amounts(scheme):
    single, _ = household_with(dt.date(2020, 1, 1))
    three, _ = household_with(dt.date(2019, 5, 1), dt.date(2020, 6, 1), dt.date(2023, 2, 1))
    result = dues_run_execute(year=YEAR)
    assert result.created == 2
    assert result.total == Decimal("35.00")
    assert invoice_of(single).total == Decimal("10.00")
    big = invoice_of(three)
    assert big.total == Decimal("25.00")
    assert [line.amount for line in big.lines.all()] == [
        Decimal("10.00"),
        Decimal("7.50"),
        Decimal("7.50"),
    ]
    assert big.status == Invoice.Status.OPEN
    assert big.scheme == scheme


def test_reduced_and_free_members(scheme):
    mixed, (first, second) = household_with(dt.date(2020, 1, 1), dt.date(2021, 1, 1))
    member_rate_set(member=first, rate=MemberRate.Rate.REDUCED, reason="minima")
    free_then_paying, (honorary, paying) = household_with(dt.date(2010, 1, 1), dt.date(2020, 1, 1))
    member_rate_set(member=honorary, rate=MemberRate.Rate.FREE, reason="erelid")
    only_free, (alone,) = household_with(dt.date(2010, 1, 1))
    member_rate_set(member=alone, rate=MemberRate.Rate.FREE, reason="erelid")

    preview = dues_run_preview(year=YEAR)
    reasons = {item.member_id: item.reason for item in preview.skipped}
    assert "erelid" in reasons[alone.pk]
    assert "erelid" in reasons[honorary.pk]

    dues_run_execute(year=YEAR)
    assert invoice_of(mixed).total == Decimal(
        "15.00"
    )  # reduced 5,00 + the standard member is first: 10,00
    free_invoice = invoice_of(free_then_paying)
    assert free_invoice.total == Decimal("10.00")
    assert [line.member_id for line in free_invoice.lines.all()] == [paying.pk]
    assert not Invoice.objects.filter(household=only_free).exists()


@pytest.mark.parametrize(
    "rule, expected",
    [
        (ContributionScheme.MidYear.FULL, Decimal("17.50")),
        # First member 10,00 for the whole year; the second joined in October:
        # 7,50 × 3 / 12 = 1,875 → 1,88.
        (ContributionScheme.MidYear.PER_MONTH, Decimal("11.88")),
        (ContributionScheme.MidYear.NONE, Decimal("10.00")),
    ],
)
def test_mid_year_rules(scheme, rule, expected):
    scheme_update(scheme=scheme, mid_year=rule)
    household, _ = household_with(dt.date(2024, 6, 1), dt.date(YEAR, 10, 15))
    dues_run_execute(year=YEAR)
    assert invoice_of(household).total == expected


def test_per_month_counts_the_joining_month(scheme):
    scheme_update(scheme=scheme, mid_year=ContributionScheme.MidYear.PER_MONTH)
    april, _ = household_with(dt.date(YEAR, 4, 30))
    december, _ = household_with(dt.date(YEAR, 12, 1))
    january, _ = household_with(dt.date(YEAR, 1, 20))
    dues_run_execute(year=YEAR)
    assert invoice_of(april).total == Decimal("7.50")  # 10,00 × 9 / 12
    assert invoice_of(december).total == Decimal("0.83")  # 10,00 × 1 / 12 = 0,8333
    assert invoice_of(january).total == Decimal("10.00")
    assert "9 maanden" in invoice_of(april).lines.get().description
    assert invoice_of(december).lines.get().description.endswith(", 1 maand)")


def test_none_rule_skips_a_household_of_only_new_members(scheme):
    scheme_update(scheme=scheme, mid_year=ContributionScheme.MidYear.NONE)
    household, (member,) = household_with(dt.date(YEAR, 3, 1))
    preview = dues_run_preview(year=YEAR)
    assert [item.member_id for item in preview.skipped] == [member.pk]
    dues_run_execute(year=YEAR)
    assert not Invoice.objects.filter(household=household).exists()


def test_who_is_counted(scheme):
    counted, (active,) = household_with(dt.date(YEAR, 12, 31))
    later, (future,) = household_with(dt.date(YEAR + 1, 1, 1))
    applied, (candidate,) = household_with(None, status=Member.Status.APPLIED)
    ended = MemberFactory(status=Member.Status.CANCELLED, ended_on=dt.date(YEAR - 1, 6, 1))
    preview = dues_run_preview(year=YEAR)
    assert [invoice.household_id for invoice in preview.invoices] == [counted.pk]
    reasons = {item.member_id: item.reason for item in preview.skipped}
    assert "na dit jaar" in reasons[future.pk]
    assert "Aangemeld" in reasons[candidate.pk]
    assert ended.pk not in reasons
    assert preview.member_count == 1
    assert preview.total == Decimal("10.00")


def test_preview_creates_nothing(scheme):
    household_with(dt.date(2020, 1, 1), dt.date(2020, 1, 1))
    preview = dues_run_preview(year=YEAR)
    assert preview.household_count == 1
    assert preview.total == Decimal("17.50")
    assert Invoice.objects.count() == 0
    assert sequence_value() == 0
    scheme.refresh_from_db()
    assert scheme.locked_at is None


def test_run_without_scheme_is_a_clear_error():
    with pytest.raises(FinanceError, match="geen contributieregeling"):
        dues_run_execute(year=2031)
    with pytest.raises(FinanceError):
        dues_run_preview(year=2031)


# Running again, numbers ----------------------------------------------------------------------


def test_running_twice_creates_nothing_new(scheme):
    for _ in range(3):
        household_with(dt.date(2020, 1, 1), dt.date(2021, 1, 1))
    first = dues_run_execute(year=YEAR)
    numbers = set(Invoice.objects.values_list("number", flat=True))
    used = sequence_value()
    second = dues_run_execute(year=YEAR)
    assert first.created == 3
    assert second.created == 0
    assert second.already_invoiced == 3
    assert set(Invoice.objects.values_list("number", flat=True)) == numbers
    assert sequence_value() == used
    assert InvoiceLine.objects.count() == 6


def test_numbers_are_gap_free_and_continue_for_later_joiners(scheme):
    for _ in range(4):
        household_with(dt.date(2020, 1, 1))
    dues_run_execute(year=YEAR)
    newcomer, _ = household_with(dt.date(YEAR, 9, 1))
    result = dues_run_execute(year=YEAR)
    assert result.created == 1
    year = number_year()
    sequences = sorted(Invoice.objects.filter(year=year).values_list("sequence", flat=True))
    assert sequences == [1, 2, 3, 4, 5]
    assert invoice_of(newcomer).number == f"{year}-000005"
    assert all(
        number.startswith(f"{year}-") and len(number) == 11
        for number in Invoice.objects.values_list("number", flat=True)
    )


def test_new_member_in_an_invoiced_household_is_listed_not_invoiced(scheme):
    household, _ = household_with(dt.date(2020, 1, 1))
    dues_run_execute(year=YEAR)
    newcomer = MemberFactory(household=household, joined_on=dt.date(YEAR, 8, 1))
    preview = dues_run_preview(year=YEAR)
    assert preview.invoices == []
    assert [item.member_id for item in preview.new_in_invoiced] == [newcomer.pk]
    assert "nieuw lid" in preview.new_in_invoiced[0].reason.lower()
    assert dues_run_execute(year=YEAR).created == 0
    assert invoice_of(household).total == Decimal("10.00")


def test_a_member_who_moved_is_not_charged_twice(scheme):
    old_home, (mover, _stays) = household_with(dt.date(2020, 1, 1), dt.date(2020, 1, 1))
    dues_run_execute(year=YEAR)
    new_home = HouseholdFactory()
    member_move(member=mover, to_household=new_home)
    preview = dues_run_preview(year=YEAR)
    assert preview.invoices == []
    assert any(
        item.member_id == mover.pk and "al op factuur" in item.reason for item in preview.skipped
    )


def test_database_allows_one_dues_invoice_per_household_and_year(scheme):
    household, _ = household_with(dt.date(2020, 1, 1))
    dues_run_execute(year=YEAR)
    original = invoice_of(household)
    copy = Invoice(
        **{
            f.attname: getattr(original, f.attname)
            for f in Invoice._meta.concrete_fields
            if f.attname not in ("id", "number", "sequence")
        }
    )
    copy.number, copy.sequence = "X-1", 999
    with pytest.raises(IntegrityError), transaction.atomic():
        copy.save()


def test_address_is_copied_onto_the_invoice(scheme):
    household, (member,) = household_with(dt.date(2020, 1, 1))
    household.house_number_addition = "a"
    household.save()
    dues_run_execute(year=YEAR)
    household_change_address(
        household=household,
        address=Address(street="Nieuwe Weg", house_number=9, postcode="7912 XX", town="Zuidwolde"),
    )
    member.given_name = "Johannes"
    member.save()
    invoice = invoice_of(household)
    assert (invoice.street, invoice.house_number, invoice.postcode, invoice.town) == (
        "Dorpsstraat",
        f"{household.house_number}a",
        "7911 AB",
        "Hollandscheveld",
    )
    assert invoice.recipient_name.startswith("Jan ")
    assert invoice.lines.get().description.startswith(f"Contributie {YEAR} – Jan van der")


def test_run_uses_a_constant_number_of_queries(scheme):
    def queries_for(households: int) -> int:
        for _ in range(households):
            household_with(dt.date(2020, 1, 1), dt.date(2020, 1, 1))
        with CaptureQueriesContext(connection) as context:
            assert dues_run_execute(year=YEAR).created == households
        return len(context)

    queries_for(1)  # the first run also locks the scheme and starts the year's sequence
    assert queries_for(3) == queries_for(40)


@pytest.mark.django_db(transaction=True)
def test_concurrent_runs_cannot_duplicate(on_postgres):
    scheme_create(
        year=YEAR,
        first_member_amount=Decimal("10.00"),
        further_member_amount=Decimal("7.50"),
        reduced_amount=Decimal("5.00"),
    )
    for _ in range(30):
        household_with(dt.date(2020, 1, 1), dt.date(2022, 1, 1))
    barrier = threading.Barrier(3)
    results, errors = [], []

    def run():
        try:
            barrier.wait()
            results.append(dues_run_execute(year=YEAR).created)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(results) == [0, 0, 30]
    assert Invoice.objects.filter(dues_year=YEAR).count() == 30
    assert sorted(Invoice.objects.values_list("sequence", flat=True)) == list(range(1, 31))
    assert sequence_value() == 30


def test_a_clash_with_an_existing_invoice_undoes_the_whole_run(scheme, monkeypatch):
    """If another process invoiced a household between plan and insert, nothing is kept."""
    from finance.services import dues

    household, _ = household_with(dt.date(2020, 1, 1))
    household_with(dt.date(2020, 1, 1))
    stale = dues._plan(scheme=scheme)  # made before the other process ran
    dues_run_execute(year=YEAR)
    used = sequence_value()
    scheme.refresh_from_db()
    monkeypatch.setattr(dues, "_plan", lambda scheme: stale)
    with pytest.raises(FinanceError, match="Tegelijk"):
        dues_run_execute(year=YEAR)
    assert Invoice.objects.count() == 2
    assert sequence_value() == used
