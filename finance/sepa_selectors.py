"""Reads for the direct debit, bank statement and reminder pages."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import (
    Case,
    CharField,
    Count,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.http import Http404

from coop.lib.money import ZERO
from coop.lib.numbers import INTEGER_MAX, parse_int
from members.models import Household, Member

from .models import (
    BankStatement,
    BankTransaction,
    CallNote,
    CollectionBatch,
    CollectionItem,
    Invoice,
    Mandate,
)
from .services.calls import PROMISES
from .services.ledger import booked_on_invoice
from .services.reminders import LEVEL_CALL_LIST, OPEN_STATUSES
from .services.returns import (
    DONE,
    NEXT_STEP_TEXT,
    manual_after_return,
    return_next_step,
    return_reason_text,
)


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


def collection_item_get(pk: int) -> CollectionItem:
    try:
        return CollectionItem.objects.select_related("invoice", "batch").get(pk=pk)
    except CollectionItem.DoesNotExist:
        raise Http404 from None


def batch_item_counts(batch: CollectionBatch) -> dict[str, int]:
    rows = batch.items.order_by().values("status").annotate(n=Count("pk"))
    return {row["status"]: row["n"] for row in rows}


def batches_pending() -> list[tuple[CollectionBatch, Decimal, int]]:
    """Exported batches with debits still pending, each with the pending total and count: what
    a bank line can be linked to by hand."""
    batches = (
        CollectionBatch.objects.defer("xml")
        .filter(status=CollectionBatch.Status.EXPORTED)
        .annotate(
            pending_total=Coalesce(
                Sum("items__amount", filter=Q(items__status=CollectionItem.Status.PENDING)), ZERO
            ),
            pending_count=Count("items", filter=Q(items__status=CollectionItem.Status.PENDING)),
        )
        .filter(pending_count__gt=0)
        .order_by("-collection_date", "-pk")
    )
    return [(batch, batch.pending_total, batch.pending_count) for batch in batches[:20]]


@dataclass(frozen=True)
class ReturnRow:
    item: CollectionItem
    returns_of_invoice: int

    @property
    def reason(self) -> str:
        return return_reason_text(self.item.return_reason)

    @property
    def next_step(self) -> str:
        if self.item.invoice.status not in OPEN_STATUSES:
            return DONE
        return return_next_step(self.item.return_reason, returns_of_invoice=self.returns_of_invoice)

    @property
    def next_step_text(self) -> str:
        return str(NEXT_STEP_TEXT[self.next_step])


def returned_items() -> QuerySet[CollectionItem]:
    """Returned debits, newest collection first, each with how often its invoice came back."""
    returns_of_invoice = (
        CollectionItem.objects.filter(
            invoice=OuterRef("invoice_id"), status=CollectionItem.Status.RETURNED
        )
        .order_by()
        .values("invoice")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return (
        CollectionItem.objects.filter(status=CollectionItem.Status.RETURNED)
        .annotate(returns_of_invoice=Subquery(returns_of_invoice))
        .select_related("invoice", "batch", "invoice__household")
        .order_by("-batch__collection_date", "invoice__number")
    )


def return_rows(items) -> list[ReturnRow]:
    return [ReturnRow(item=item, returns_of_invoice=item.returns_of_invoice) for item in items]


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


# The call list ---------------------------------------------------------------------------------

# Where an invoice stands on the call list, decided by its newest call note (services/calls.py).
CALL_TO_CALL, CALL_AGREED, CALL_CANNOT_PAY = "to_call", "agreed", "cannot_pay"


@dataclass(frozen=True)
class CallListRow:
    invoice: Invoice
    balance: Decimal
    days_overdue: int
    people: list[Member]  # current members of the household
    group: str = CALL_TO_CALL
    notes: list[CallNote] = field(default_factory=list)  # newest first

    @property
    def phones(self) -> list[str]:
        return [person.phone for person in self.people if person.phone]

    @property
    def last_note(self) -> CallNote | None:
        return self.notes[0] if self.notes else None


def _newest_note(field_name: str) -> Subquery:
    notes = CallNote.objects.filter(invoice=OuterRef("pk")).order_by("-called_at", "-pk")
    return Subquery(notes.values(field_name)[:1])


def _call_list_invoices(*, today: dt.date) -> QuerySet[Invoice]:
    """The invoices on the call list, each annotated with `call_group`."""
    return (
        Invoice.objects.filter(kind=Invoice.Kind.INVOICE, status__in=OPEN_STATUSES)
        .filter(Q(reminder_level__gte=LEVEL_CALL_LIST) | manual_after_return())
        .annotate(
            last_outcome=_newest_note("outcome"), last_follow_up_on=_newest_note("follow_up_on")
        )
        .annotate(
            call_group=Case(
                When(last_outcome=CallNote.Outcome.CANNOT_PAY, then=Value(CALL_CANNOT_PAY)),
                When(
                    last_outcome__in=PROMISES,
                    last_follow_up_on__gt=today,
                    then=Value(CALL_AGREED),
                ),
                default=Value(CALL_TO_CALL),
                output_field=CharField(),
            )
        )
    )


def call_list_count(*, today: dt.date) -> int:
    """How many invoices wait for a call today: one COUNT, for the menu."""
    return _call_list_invoices(today=today).filter(call_group=CALL_TO_CALL).count()


def call_list_summary(*, today: dt.date) -> dict[str, int]:
    """The call list in figures, per group, in one query."""
    return _call_list_invoices(today=today).aggregate(
        **{
            group: Count("pk", filter=Q(call_group=group))
            for group in (CALL_TO_CALL, CALL_AGREED, CALL_CANNOT_PAY)
        }
    )


def _call_list_rows(invoices: QuerySet[Invoice], *, today: dt.date) -> list[CallListRow]:
    current = Member.objects.current().order_by("joined_on", "number")
    booked = booked_on_invoice()
    notes = CallNote.objects.select_related("called_by").order_by("-called_at", "-pk")
    invoices = (
        invoices.annotate(booked=booked)
        .select_related("household")
        .prefetch_related(
            Prefetch("household__members", queryset=current, to_attr="current_members"),
            Prefetch("call_notes", queryset=notes, to_attr="notes_newest_first"),
        )
        .order_by("due_on", "number")
    )
    return [
        CallListRow(
            invoice=invoice,
            balance=invoice.total - invoice.booked,
            days_overdue=(today - invoice.due_on).days,
            people=invoice.household.current_members,
            group=invoice.call_group,
            notes=invoice.notes_newest_first,
        )
        for invoice in invoices
    ]


def call_list(*, today: dt.date) -> list[CallListRow]:
    """Who to ring about an unpaid invoice: after two reminders. Names, phones, amounts and the
    notes of earlier calls; no bank details."""
    return _call_list_rows(_call_list_invoices(today=today), today=today)


def call_list_row(pk: int, *, today: dt.date) -> CallListRow:
    """One invoice of the call list, for the page where a call is noted; 404 for any other."""
    rows = _call_list_rows(_call_list_invoices(today=today).filter(pk=pk), today=today)
    if not rows:
        raise Http404
    return rows[0]
