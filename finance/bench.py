"""Dues under load: what `manage.py bench dues` seeds and times.

The register is the one `bench members` seeds (about 0.66 households per member), with every member
made active so that all of them are charged: SIZE members in ~0.66 × SIZE households. A few are on
the reduced or free rate. Seeding also runs the dues for BASE_YEAR, so there are open invoices for
the operations that need them (direct debit export, statement import).

`dues.run` is a complete, committed dues run each time: every timed run uses a new year with its
own scheme, so it creates one invoice per household and a line per member, as the first run of a
year does.
"""

import itertools
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import F
from django.db.models.functions import Coalesce
from django.urls import reverse

from coop.accounts.models import User
from coop.accounts.roles import Role
from coop.accounts.services import user_create
from coop.lib.bench import Operation, consume
from members import bench as members_bench
from members.models import Member

from . import bench_sepa
from .models import ContributionScheme, Invoice, MemberRate
from .services.dues import dues_run_execute, scheme_create

USER_EMAIL = "bench-treasurer@example.org"
BASE_YEAR = 2025
_run_years = itertools.count(2040)

# What `bench` checks the figures against (printed, never asserted).
TARGETS = {
    "dues.seed": {"max_ms": 180_000},
    "dues.run": {"max_ms": 30_000, "max_rss_growth_mb": 500},
    "dues.preview": {"max_ms": 10_000, "max_queries": 20},
    # Open invoices with their totals: the totals read every open invoice, so this grows with them.
    "dues.invoice_list": {"max_ms": 1_000, "max_queries": 15},
    **bench_sepa.TARGETS,
}


def _scheme(year: int) -> ContributionScheme:
    existing = ContributionScheme.objects.filter(year=year).first()
    if existing is not None:
        return existing
    return scheme_create(
        year=year,
        first_member_amount=Decimal("10.00"),
        further_member_amount=Decimal("7.50"),
        reduced_amount=Decimal("5.00"),
        mid_year=ContributionScheme.MidYear.PER_MONTH,
    )


def seed(*, size: int) -> None:
    """SIZE active members in ~0.66 × SIZE households, a treasurer, and the dues for BASE_YEAR."""
    members_bench.seed(size=size)
    with transaction.atomic():
        user_create(email=USER_EMAIL, roles=[Role.TREASURER], verified=True)
        Member.objects.exclude(status=Member.Status.ACTIVE).update(
            status=Member.Status.ACTIVE,
            joined_on=Coalesce(F("joined_on"), F("applied_on")),
            ended_on=None,
            end_reason="",
        )
        ids = list(Member.objects.order_by("pk").values_list("pk", flat=True))
        rates = [
            MemberRate(member_id=pk, rate=MemberRate.Rate.REDUCED, reason="minima")
            for pk in ids[::33]
        ] + [
            MemberRate(member_id=pk, rate=MemberRate.Rate.FREE, reason="erelid")
            for pk in ids[7::101]
        ]
        MemberRate.objects.bulk_create(rates, batch_size=5000, ignore_conflicts=True)
        _scheme(BASE_YEAR)
    dues_run_execute(year=BASE_YEAR)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "ANALYZE finance_invoice, finance_invoiceline, finance_memberrate, members_member"
            )
    # Mandates and a draft direct debit batch over the open invoices, for pain.008 and CAMT.053.
    bench_sepa.seed(size=size)


def check_seeded(size: int) -> None:
    members = Member.objects.filter(status=Member.Status.ACTIVE).count()
    invoices = Invoice.objects.filter(dues_year=BASE_YEAR).count()
    if members != size or invoices < size // 2:
        raise RuntimeError(
            f"expected {size} active members and their invoices, found {members} and {invoices}"
        )
    bench_sepa.check_seeded(size)


def login_user() -> User:
    return User.objects.get(email=USER_EMAIL)


def dues_run_once() -> int:
    """A first dues run for a year that has none yet; returns the number of invoices made."""
    year = next(_run_years)
    _scheme(year)
    result = dues_run_execute(year=year)
    if not result.created:
        raise RuntimeError(f"the dues run for {year} created nothing")
    return result.created


def operations() -> list[Operation]:
    preview = reverse("finance:dues_run", args=[BASE_YEAR])
    invoices = reverse("finance:invoice_list")
    # The pages first: every dues.run adds a year of invoices.
    return [
        Operation(
            "dues.invoice_list", lambda client: consume(client.get(invoices, {"status": "open"}))
        ),
        # The preview of a year already run: the whole register is read and checked again.
        Operation("dues.preview", lambda client: consume(client.get(preview))),
        # Export and import roll back, so they leave the seeded batch as it was.
        *bench_sepa.operations(),
        Operation("dues.run", lambda client: dues_run_once()),
    ]
