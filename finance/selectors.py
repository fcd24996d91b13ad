"""Reads for the finance pages. Each list is one query plus a fixed number of totals."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, DecimalField, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils.translation import gettext_lazy as _

from coop.accounts.models import User
from coop.lib.money import ZERO
from members.models import Household
from members.selectors import own_member

from .models import (
    CollectionBatch,
    CollectionItem,
    ContributionScheme,
    Invoice,
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


# Members: their own household only --------------------------------------------------------------


def invoices_for_user(user: User) -> QuerySet[Invoice]:
    """The invoices of the user's own household; nothing for someone who is no member."""
    own = own_member(user)
    if own is None:
        return Invoice.objects.none()
    return invoices_with_balance(
        Invoice.objects.filter(household_id=own.household_id)
    ).select_related("credited_invoice")


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
