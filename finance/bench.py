"""Dues under load: what `manage.py bench dues` seeds and times.

The register is the one `bench members` seeds (about 0.66 households per member), with every member
made active so that all of them are charged: SIZE members in ~0.66 × SIZE households. A few are on
the reduced or free rate. Seeding also runs the dues for BASE_YEAR, so there are open invoices for
the operations that need them (direct debit export, statement import).

`dues.mt940` imports the statement of `dues.camt` (bench_sepa.py) written as an ING MT940: the same
30,000 bookings, each its own :61: line (MT940 has no transactions inside an entry, so the 20,000
debits are 20,000 lines with their /EREF/), matched and booked, then rolled back.

`dues.run` is a complete, committed dues run each time: every timed run uses a new year with its
own scheme, so it creates one invoice per household and a line per member, as the first run of a
year does.
"""

import datetime as dt
import itertools
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import F
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from coop.accounts.models import User
from coop.accounts.roles import Role
from coop.accounts.services import user_create
from coop.lib.bench import Operation, consume
from members import bench as members_bench
from members.models import Member

from . import bench_sepa
from .models import CollectionItem, ContributionScheme, Invoice, MemberRate
from .mt940_samples import ing_details, ing_file, ing_statement, ing_transaction
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
    "dues.mt940": {"max_ms": 30_000, "max_rss_growth_mb": 500},
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


def mt940_document(
    *,
    debits: list[CollectionItem],
    returns: list[CollectionItem],
    transfers: list[Invoice],
    unmatched: int,
    day: dt.date,
) -> bytes:
    """An ING MT940 statement with a line per debit, return, transfer and piece of noise."""
    lines, total = [], Decimal("0.00")

    def add(amount: Decimal, details: str) -> None:
        nonlocal total
        lines.append(
            ing_transaction(
                day=day, amount=amount, bank_ref=f"{len(lines) + 1:014d}", details=details
            )
        )
        total += amount

    for item in debits:
        party = (item.mandate.iban, "ABNANL2A", item.mandate.account_holder, "")
        add(
            item.amount,
            ing_details(
                eref=item.end_to_end_id,
                mandate=item.mandate.reference,
                counterparty=party,
                text="Contributie",
            ),
        )
    for item in returns:
        party = (item.mandate.iban, "ABNANL2A", item.mandate.account_holder, "")
        add(
            -item.amount,
            ing_details(reason="AM04", eref=item.end_to_end_id, counterparty=party, text="Storno"),
        )
    for invoice in transfers:
        party = ("NL20INGB0001234567", "INGBNL2A", invoice.recipient_name, "")
        add(
            invoice.total,
            ing_details(
                eref="NOTPROVIDED", counterparty=party, text=f"Contributie factuur {invoice.number}"
            ),
        )
    for i in range(unmatched):
        if i % 2:
            add(Decimal("-0.35"), ing_details(text="Kosten transactie"))
        else:
            party = ("NL18RABO0123459876", "RABONL2U", "Gever", "")
            add(
                Decimal("12.00"),
                ing_details(eref="NOTPROVIDED", counterparty=party, text=f"Gift {i}"),
            )
    statement = ing_statement(
        statement_id=f"P{day:%y%m%d}000000001", transactions=lines, movement=total, day=day
    )
    return ing_file([statement])


def mt940_bench_statement() -> bytes:
    """The bookings of `dues.camt` (bench_sepa.bench_statement) as MT940."""
    batch = bench_sepa._draft_batch()
    items = list(batch.items.select_related("mandate", "invoice").order_by("pk"))
    debits = items[: bench_sepa.CAMT_DEBITS]
    returns = debits[: bench_sepa.CAMT_RETURNS]
    transfers = [
        item.invoice
        for item in items[
            bench_sepa.CAMT_DEBITS : bench_sepa.CAMT_DEBITS + bench_sepa.CAMT_TRANSFERS
        ]
    ]
    if len(transfers) < bench_sepa.CAMT_TRANSFERS:
        extra = Invoice.objects.filter(
            kind=Invoice.Kind.INVOICE, status=Invoice.Status.OPEN
        ).exclude(pk__in=batch.items.values("invoice_id"))
        transfers += list(extra.order_by("pk")[: bench_sepa.CAMT_TRANSFERS - len(transfers)])
    return mt940_document(
        debits=debits,
        returns=returns,
        transfers=transfers,
        unmatched=bench_sepa.CAMT_ENTRIES - len(debits) - len(returns) - len(transfers),
        day=timezone.localdate(),
    )


def mt940_import_once(content: bytes) -> int:
    """Import, match and book the MT940 statement, then roll it back: returns the lines booked."""
    from .services.statements import statement_import

    try:
        with transaction.atomic():
            result = statement_import(file_name="bench.sta", content=content, by=None)
            raise bench_sepa._Rollback
    except bench_sepa._Rollback:
        pass
    if result.lines + result.already_imported < bench_sepa.CAMT_ENTRIES:
        raise RuntimeError(
            f"the statement had {result.lines} lines, expected {bench_sepa.CAMT_ENTRIES}"
        )
    return result.lines


def operations() -> list[Operation]:
    preview = reverse("finance:dues_run", args=[BASE_YEAR])
    invoices = reverse("finance:invoice_list")
    mt940: list[bytes] = []  # built on the first (warm-up) run, not before

    def mt940_import(client) -> int:
        if not mt940:
            mt940.append(mt940_bench_statement())
        return mt940_import_once(mt940[0])

    # The pages first: every dues.run adds a year of invoices.
    return [
        Operation(
            "dues.invoice_list", lambda client: consume(client.get(invoices, {"status": "open"}))
        ),
        # The preview of a year already run: the whole register is read and checked again.
        Operation("dues.preview", lambda client: consume(client.get(preview))),
        # Export and import roll back, so they leave the seeded batch as it was.
        *bench_sepa.operations(),
        Operation("dues.mt940", mt940_import),
        Operation("dues.run", lambda client: dues_run_once()),
    ]
