"""Reads for the finance pages. Each list is one query plus a fixed number of totals."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import (
    Count,
    DecimalField,
    Exists,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from coop.accounts.models import User
from coop.lib.money import ZERO
from members.models import Household, Member, MembershipNotice, Move
from members.selectors import own_member

from .models import (
    CollectionBatch,
    CollectionItem,
    ContributionScheme,
    Invoice,
    InvoiceLine,
    LedgerEntry,
    Refund,
)

OPEN_STATUSES = (Invoice.Status.OPEN, Invoice.Status.PARTLY_PAID)
# Money that actually moved: payments minus reversals and refunds, and a surplus moved from one
# of the household's invoices to another. Credit notes and write-offs are no money.
MONEY_KINDS = (
    LedgerEntry.Kind.PAYMENT,
    LedgerEntry.Kind.REVERSAL,
    LedgerEntry.Kind.REFUND,
    LedgerEntry.Kind.SETTLEMENT,
)
_MONEY = DecimalField(max_digits=12, decimal_places=2)


def _booked(kinds: tuple[str, ...] | None = None) -> Coalesce:
    entries = LedgerEntry.objects.filter(invoice=OuterRef("pk"))
    if kinds is not None:
        entries = entries.filter(kind__in=kinds)
    summed = entries.order_by().values("invoice").annotate(s=Sum("amount")).values("s")
    return Coalesce(Subquery(summed, output_field=_MONEY), Value(ZERO), output_field=_MONEY)


def invoices_with_balance(invoices: QuerySet[Invoice] | None = None) -> QuerySet[Invoice]:
    """Invoices annotated with `booked` (all entries), `paid` (money that moved) and `balance`."""
    invoices = Invoice.objects.all() if invoices is None else invoices
    return invoices.annotate(booked=_booked(), paid=_booked(MONEY_KINDS)).annotate(
        balance=Coalesce("total", Value(ZERO), output_field=_MONEY)
        - Coalesce("booked", Value(ZERO), output_field=_MONEY)
    )


@dataclass(frozen=True)
class InvoiceFilter:
    year: int | None = None
    status: str = ""
    kind: str = ""
    buurt: int | None = None
    q: str = ""


def invoice_search(filters: InvoiceFilter) -> QuerySet[Invoice]:
    invoices = Invoice.objects.all()
    if filters.year:
        invoices = invoices.filter(year=filters.year)
    if filters.status:
        invoices = invoices.filter(status=filters.status)
    if filters.kind:
        invoices = invoices.filter(kind=filters.kind)
    if filters.buurt:
        invoices = invoices.filter(household__buurt_id=filters.buurt)
    q = " ".join(filters.q.split())
    if q:
        invoices = invoices.filter(Q(number__icontains=q) | Q(recipient_name__icontains=q))
    return invoices


def invoice_list(filters: InvoiceFilter) -> QuerySet[Invoice]:
    return invoices_with_balance(invoice_search(filters)).select_related(
        "household__buurt", "credited_invoice"
    )


def invoice_totals(invoices: QuerySet[Invoice]) -> dict[str, Any]:
    """Count, net invoiced (credit notes subtract), paid, and still open: two queries in all."""
    plain = invoices.order_by().values("pk")
    is_open = Q(kind=Invoice.Kind.INVOICE, status__in=OPEN_STATUSES)
    totals = invoices.order_by().aggregate(
        count=Count("pk"),
        invoiced=Coalesce(Sum("total"), Value(ZERO), output_field=_MONEY),
        open_invoiced=Coalesce(Sum("total", filter=is_open), Value(ZERO), output_field=_MONEY),
    )
    booked = LedgerEntry.objects.filter(invoice__in=plain).aggregate(
        paid=Coalesce(
            Sum("amount", filter=Q(kind__in=MONEY_KINDS)), Value(ZERO), output_field=_MONEY
        ),
        open_booked=Coalesce(
            Sum(
                "amount",
                filter=Q(invoice__kind=Invoice.Kind.INVOICE, invoice__status__in=OPEN_STATUSES),
            ),
            Value(ZERO),
            output_field=_MONEY,
        ),
    )
    return {
        "count": totals["count"] or 0,
        "total": totals["invoiced"],
        "paid": booked["paid"],
        "balance": totals["open_invoiced"] - booked["open_booked"],
    }


def invoices_overpaid() -> QuerySet[Invoice]:
    """Every invoice paid more than it asked, however it was paid: the treasurer settles each."""
    return (
        invoices_with_balance(Invoice.objects.filter(kind=Invoice.Kind.INVOICE))
        .filter(balance__lt=0)
        .select_related("household")
        .order_by("issued_on", "pk")
    )


def refunds_to_pay() -> QuerySet[Refund]:
    return Refund.objects.filter(status=Refund.Status.TO_PAY).select_related("invoice")


def finance_overview(*, year: int) -> dict[str, Any]:
    """The figures on the treasurer's front page."""
    invoices = Invoice.objects.filter(kind=Invoice.Kind.INVOICE)
    open_invoices = invoices.filter(status__in=OPEN_STATUSES).values("pk")
    open_total = (
        invoices.filter(status__in=OPEN_STATUSES).aggregate(s=Sum("total"))["s"] or ZERO
    ) - (
        LedgerEntry.objects.filter(invoice__in=open_invoices).aggregate(s=Sum("amount"))["s"]
        or ZERO
    )
    paid_this_year = (
        LedgerEntry.objects.filter(booked_on__year=year, kind__in=MONEY_KINDS).aggregate(
            s=Sum("amount")
        )["s"]
        or ZERO
    )
    counts = dict(
        invoices.filter(year=year)
        .order_by()
        .values("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    per_status = [(value, label, counts.get(value, 0)) for value, label in Invoice.Status.choices]
    return {
        "year": year,
        "open_total": open_total,
        "open_count": invoices.filter(status__in=OPEN_STATUSES).count(),
        "paid_this_year": paid_this_year,
        "per_status": per_status,
        "overpaid_count": invoices_overpaid().count(),
    }


def ledger_entries_for(invoices: QuerySet[Invoice]) -> QuerySet[LedgerEntry]:
    return (
        LedgerEntry.objects.filter(invoice__in=invoices.order_by().values("pk"))
        .select_related("invoice")
        .order_by("booked_on", "pk")
    )


def household_invoices(household: Household) -> QuerySet[Invoice]:
    return invoices_with_balance(Invoice.objects.filter(household=household)).select_related(
        "credited_invoice"
    )


# Paid or not, for coordinators ------------------------------------------------------------------


@dataclass(frozen=True)
class DuesStatus:
    """Whether a household paid its contribution of a year: no payment details, no bank details."""

    household_id: int
    status: str  # an Invoice.Status value, or "none" when there is no contribution invoice
    number: str = ""

    @property
    def label(self) -> str:
        if self.status == "none":
            return str(_("Geen factuur"))
        return str(Invoice.Status(self.status).label)

    @property
    def is_paid(self) -> bool:
        return self.status == Invoice.Status.PAID

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


def household_dues_status(
    household_ids: list[int] | set[int] | tuple[int, ...], year: int
) -> dict[int, DuesStatus]:
    """For each household id: the status of its contribution invoice for `year` (one query)."""
    ids = list(household_ids)
    found = {
        household_id: DuesStatus(household_id, status, number)
        for household_id, status, number in Invoice.objects.filter(
            kind=Invoice.Kind.INVOICE, dues_year=year, household_id__in=ids
        ).values_list("household_id", "status", "number")
    }
    return {pk: found.get(pk, DuesStatus(pk, "none")) for pk in ids}


@dataclass(frozen=True)
class DuesOfYear:
    """A household's contribution invoice of one year as coordinators may see it: whether it is
    paid, open or being collected by direct debit, the amount and number. No bank details."""

    year: int
    status: str  # an Invoice.Status value, "in_collection", or "none" without an invoice
    number: str = ""
    total: Decimal | None = None
    due_on: dt.date | None = None
    collection_on: dt.date | None = None

    LABELS = {
        "in_collection": _("Wordt afgeschreven (incasso)"),
        "none": _("Geen factuur"),
    }

    @property
    def label(self) -> str:
        if self.status in self.LABELS:
            return str(self.LABELS[self.status])
        return str(Invoice.Status(self.status).label)

    @property
    def badge(self) -> str:
        return "pending" if self.status == "in_collection" else self.status


def household_dues_of_year(household_id: int, year: int) -> DuesOfYear:
    """This household's contribution invoice of `year`, in one query. An open invoice in a
    direct debit batch that went to the bank is "in collection": the member need not pay it."""
    row = (
        invoices_in_collection(
            Invoice.objects.filter(
                kind=Invoice.Kind.INVOICE, dues_year=year, household_id=household_id
            )
        )
        .values("status", "number", "total", "due_on", "collection_on")
        .first()
    )
    if row is None:
        return DuesOfYear(year=year, status="none")
    status = row["status"]
    if status in OPEN_STATUSES and row["collection_on"] is not None:
        status = "in_collection"
    return DuesOfYear(
        year=year,
        status=status,
        number=row["number"],
        total=row["total"],
        due_on=row["due_on"],
        collection_on=row["collection_on"],
    )


def invoices_in_collection(invoices: QuerySet[Invoice]) -> QuerySet[Invoice]:
    """Annotate `collection_on`: the date an exported direct debit batch collects the invoice."""
    pending = CollectionItem.objects.filter(
        invoice=OuterRef("pk"),
        status=CollectionItem.Status.PENDING,
        batch__status=CollectionBatch.Status.EXPORTED,
    ).values("batch__collection_date")[:1]
    return invoices.annotate(collection_on=Subquery(pending))


# Households whose members all left ---------------------------------------------------------------


def household_has_current_member(
    *, on: dt.date | None = None, household: str = "household"
) -> Exists:
    """Exists(): the household at `OuterRef(household)` still has a member on `on` (default
    today). A member counts who is applied or active without a pending notice ending before `on`,
    or whose ended membership ends on or after `on` (notice given per the end of the year).

    Filter invoices on it (`Invoice.objects.filter(household_has_current_member())`), or
    households with `household="pk"`. A household whose members all left, moved out or died gets
    no new contribution invoice and is never put in a direct debit batch.
    """
    on = on or timezone.localdate()
    gone_by_notice = MembershipNotice.objects.filter(
        member=OuterRef("pk"), status=MembershipNotice.Status.PENDING, end_on__lt=on
    )
    members = Member.objects.filter(household=OuterRef(household)).filter(
        (Q(status__in=[Member.Status.APPLIED, Member.Status.ACTIVE]) & ~Exists(gone_by_notice))
        | Q(status__in=Member.ENDED, ended_on__gte=on)
    )
    return Exists(members)


def households_departed(*, on: dt.date | None = None) -> QuerySet[Household]:
    """Households without any member on `on` (default today): see household_has_current_member."""
    return Household.objects.filter(~household_has_current_member(on=on, household="pk"))


# Members: their own household, and the ones they moved out of -----------------------------------


_ADDRESS = re.compile(
    r"^(?P<street>.+) (?P<number>\d+)\S*, (?P<postcode>\d{4} ?[A-Z]{2}) (?P<town>.+)$"
)


def _household_at(address: str) -> int | None:
    """The household whose address line is `address` now (a Move keeps only the text)."""
    match = _ADDRESS.match(address)
    if match is None:
        return None
    for household in Household.objects.filter(
        house_number=int(match["number"]), postcode=match["postcode"]
    ):
        if household.address_line == address:
            return household.pk
    return None


def former_households(member: Member) -> list[tuple[int, dt.date | None, dt.date]]:
    """The households `member` moved out of, each with the days they lived there: (household id,
    from, until), `from` None for the first one. From the member's Move rows: each move's target
    is lived in until the next move; the household before the first move is found by its address
    (the Move keeps it as text) and by the invoices that name the member."""
    moves = list(
        Move.objects.filter(member=member)
        .order_by("moved_on", "recorded_at", "pk")
        .values_list("to_household_id", "moved_on", "from_address")
    )
    if not moves:
        return []
    first_move_on = moves[0][1]
    windows: list[tuple[int, dt.date | None, dt.date]] = []
    origins = set(
        InvoiceLine.objects.filter(member=member, invoice__issued_on__lte=first_move_on)
        .values_list("invoice__household_id", flat=True)
        .distinct()
    )
    at_address = _household_at(moves[0][2])
    if at_address is not None:
        origins.add(at_address)
    windows += [(pk, None, first_move_on) for pk in sorted(origins)]
    for (household_id, arrived_on, _address), (_next, left_on, _from) in zip(
        moves, moves[1:], strict=False
    ):
        windows.append((household_id, arrived_on, left_on))
    return [window for window in windows if window[0] != member.household_id]


def _member_invoices_q(member: Member) -> Q:
    """The member's own household's invoices, those of households they moved out of (issued while
    they lived there), and every invoice with a line for them."""
    q = Q(household_id=member.household_id)
    for household_id, from_on, until_on in former_households(member):
        lived_there = Q(household_id=household_id, issued_on__lte=until_on)
        if from_on is not None:
            lived_there &= Q(issued_on__gte=from_on)
        q |= lived_there
    q |= Q(Exists(InvoiceLine.objects.filter(invoice=OuterRef("pk"), member=member)))
    return q


def invoices_for_user(user: User) -> QuerySet[Invoice]:
    """The invoices of the user's own household, and of households they moved out of (with the
    credit notes of those): nothing for someone who is no member."""
    own = own_member(user)
    if own is None:
        return Invoice.objects.none()
    mine = _member_invoices_q(own)
    credits = Q(
        kind=Invoice.Kind.CREDIT_NOTE,
        credited_invoice__in=Invoice.objects.filter(mine).values("pk"),
    )
    return invoices_with_balance(Invoice.objects.filter(mine | credits)).select_related(
        "credited_invoice"
    )


def invoice_for_user(user: User, pk: int) -> Invoice:
    """One invoice of the user's own household; 404 for any other."""
    try:
        return invoices_for_user(user).get(pk=pk)
    except Invoice.DoesNotExist:
        raise Http404 from None


def invoice_for_treasurer(pk: int) -> Invoice:
    try:
        return (
            invoices_with_balance(Invoice.objects.filter(pk=pk))
            .select_related("household__buurt", "credited_invoice", "scheme")
            .get()
        )
    except Invoice.DoesNotExist:
        raise Http404 from None


@dataclass(frozen=True)
class MembershipCost:
    """What membership costs a year, for the public pages."""

    year: int
    first_member: Decimal
    further_member: Decimal
    reduced: Decimal

    @property
    def same_for_everyone(self) -> bool:
        return self.first_member == self.further_member

    @property
    def free(self) -> bool:
        return not (self.first_member or self.further_member)

    @property
    def has_reduced_rate(self) -> bool:
        return self.reduced < min(self.first_member, self.further_member)


def membership_cost(*, today: dt.date) -> MembershipCost | None:
    """The amounts of this year's contribution scheme, or of the newest before it when the
    treasurer has not set this year's yet; None without any."""
    scheme = ContributionScheme.objects.filter(year__lte=today.year).order_by("-year").first()
    if scheme is None:
        return None
    return MembershipCost(
        year=scheme.year,
        first_member=scheme.first_member_amount,
        further_member=scheme.further_member_amount,
        reduced=scheme.reduced_amount,
    )
