"""Reads for the direct debit, bank statement and reminder pages."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.http import Http404

from coop.lib.money import ZERO
from coop.lib.numbers import INTEGER_MAX, parse_int
from members.models import Household, Member

from .models import (
    BankStatement,
    BankTransaction,
    CollectionBatch,
    CollectionItem,
    Invoice,
    LedgerEntry,
    Mandate,
)
from .services.reminders import LEVEL_CALL_LIST, OPEN_STATUSES


def mandate_search(*, status: str = "", q: str = "") -> QuerySet[Mandate]:
    mandates = Mandate.objects.select_related("household", "signed_by")
    if status in Mandate.Status.values:
        mandates = mandates.filter(status=status)
    q = " ".join(q.split())
    if q:
        filters = Q(reference__icontains=q) | Q(account_holder__icontains=q)
        number = parse_int(q, minimum=1, maximum=INTEGER_MAX)
        if number is not None:
            filters |= Q(household__members__number=number)
        mandates = mandates.filter(filters).distinct()
    return mandates.order_by("-signed_on", "-pk")


def mandate_active(household: Household) -> Mandate | None:
    return household.mandates.filter(status=Mandate.Status.ACTIVE).first()


def mandate_get(pk: int) -> Mandate:
    try:
        return Mandate.objects.select_related("household").get(pk=pk)
    except Mandate.DoesNotExist:
        raise Http404 from None


def batch_list() -> QuerySet[CollectionBatch]:
    return CollectionBatch.objects.defer("xml").order_by("-collection_date", "-pk")


def batch_get(pk: int, *, with_xml: bool = False) -> CollectionBatch:
    batches = CollectionBatch.objects.all() if with_xml else CollectionBatch.objects.defer("xml")
    try:
        return batches.get(pk=pk)
    except CollectionBatch.DoesNotExist:
        raise Http404 from None


def batch_items(batch: CollectionBatch) -> QuerySet[CollectionItem]:
    return batch.items.select_related("invoice", "mandate").order_by("invoice__number")


def batch_item_counts(batch: CollectionBatch) -> dict[str, int]:
    rows = batch.items.order_by().values("status").annotate(n=Count("pk"))
    return {row["status"]: row["n"] for row in rows}


def statement_list() -> QuerySet[BankStatement]:
    return (
        BankStatement.objects.select_related("imported_by")
        .annotate(
            lines=Count("transactions"),
            unmatched=Count(
                "transactions", filter=Q(transactions__status=BankTransaction.Status.UNMATCHED)
            ),
        )
        .order_by("-imported_at", "-pk")
    )


def statement_get(pk: int) -> BankStatement:
    try:
        return statement_list().get(pk=pk)
    except BankStatement.DoesNotExist:
        raise Http404 from None


def statement_summary(statement: BankStatement) -> dict[str, dict]:
    rows = (
        statement.transactions.order_by()
        .values("status")
        .annotate(n=Count("pk"), total=Sum("amount"))
    )
    return {row["status"]: {"count": row["n"], "total": row["total"] or ZERO} for row in rows}


def unmatched_transactions() -> QuerySet[BankTransaction]:
    return BankTransaction.objects.filter(status=BankTransaction.Status.UNMATCHED).order_by(
        "booking_date", "pk"
    )


def transaction_get(pk: int) -> BankTransaction:
    try:
        return BankTransaction.objects.select_related("statement", "invoice").get(pk=pk)
    except BankTransaction.DoesNotExist:
        raise Http404 from None


@dataclass(frozen=True)
class CallListRow:
    invoice: Invoice
    balance: Decimal
    days_overdue: int
    people: list[Member]  # current members of the household

    @property
    def phones(self) -> list[str]:
        return [person.phone for person in self.people if person.phone]


def call_list(*, today: dt.date) -> list[CallListRow]:
    """Who to ring about an unpaid invoice: after two reminders. Names, phones and amounts only."""
    current = Member.objects.current().order_by("joined_on", "number")
    booked = (
        LedgerEntry.objects.filter(invoice=OuterRef("pk"))
        .order_by()
        .values("invoice")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    invoices = (
        Invoice.objects.filter(
            kind=Invoice.Kind.INVOICE, status__in=OPEN_STATUSES, reminder_level__gte=LEVEL_CALL_LIST
        )
        .annotate(booked=Coalesce(Subquery(booked), ZERO))
        .select_related("household")
        .prefetch_related(
            Prefetch("household__members", queryset=current, to_attr="current_members")
        )
        .order_by("due_on", "number")
    )
    return [
        CallListRow(
            invoice=invoice,
            balance=invoice.total - invoice.booked,
            days_overdue=(today - invoice.due_on).days,
            people=invoice.household.current_members,
        )
        for invoice in invoices
    ]
