"""A year of money for the demo cooperative, made by the finance services on the days it happened.

The dues year is this year; day 0 is its first working day from 6 January (early in a year, far
enough back that the spring below fits before today). What happened, in order:

- Day 0: the treasurer sets the contribution (Hollandscheveld's amounts) and runs the dues for
  whoever was a member that day (who joined later counts as applied during the run). Members who
  joined later are invoiced by the runs at the end of June and of September (a run only adds what
  is missing); whoever joined since is still to be invoiced.
- A quarter of the households pay by direct debit, on paper mandates signed in earlier years: in
  January the treasurer makes a batch, the members get their pre-notification and the pain.008
  file goes to the bank; in February the debits are collected and three come back (no money, a
  refund asked at the bank, a closed account: that mandate is revoked).
- Most households transfer the amount with the invoice number in the description. The treasurer
  imports the bank statement (CAMT.053) every two weeks in spring and every month or two later,
  and sets aside the bank costs and a gift, which are no contribution.
- Reminders go out every week (FinanceSettings: 14 days after the due date, 14 days after the
  first, then the call list). After a reminder some pay online (iDEAL at the demo provider), some
  transfer; a few are on the call list now, the demo member among them: her invoice stays open, to
  pay through the demo checkout.
- This autumn: a transfer without an invoice number, a gift and the bank costs wait in the
  unmatched queue; a full year's contribution paid on a part-year invoice waits on the overpaid
  list; an invoice paid twice is refunded today; the debits of the newest mandates are exported,
  to be collected in a few days; two members paid online today.

The services date what they do by the `today` they are given; what they date by the clock
(invoices, imports, timestamps) is set to its day afterwards. Online payments are made at the demo
provider and booked by `payment_apply`, as its webhook would; without DEBUG or COOP_DEMO the demo
provider refuses to work and the demo has no online payments. Every message the services queued is marked sent on its day (letters printed), except the letters
of the last two weeks, which wait for the coordinator: building the demo sends nothing.
"""

from __future__ import annotations

import datetime as dt
import functools
import heapq
import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db.models import Max
from django.utils import timezone
from schwifty import IBAN

from coop.accounts.models import User
from coop.core.models import OutboxMessage
from coop.lib.money import ZERO
from finance.camt_samples import CREDIT, DEBIT, camt_entry, camt_statement, camt_transaction
from finance.models import (
    BankStatement,
    BankTransaction,
    CollectionBatch,
    CollectionItem,
    ContributionScheme,
    DemoPayment,
    Invoice,
    LedgerEntry,
    Mandate,
    Payment,
)
from finance.providers.demo import DemoProvider, demo_allowed
from finance.services.bank_links import transaction_ignore, transaction_resolve
from finance.services.collections import batch_mark_collected
from finance.services.dues import dues_run_execute, scheme_create
from finance.services.ledger import invoice_balance
from finance.services.mandates import mandate_record_paper
from finance.services.overpayments import overpayment_refund
from finance.services.payments import payment_apply, payment_return_path
from finance.services.receipts import receipts_queue
from finance.services.reminders import LEVEL_CALL_LIST, reminders_send
from finance.services.sepa import (
    batch_create,
    batch_export,
    batch_prenotify,
    batch_preview,
    is_business_day,
    prenotice_key,
)
from finance.services.statements import collection_returns_notify, statement_book, statement_read
from members.models import Member

BANKS = ("INGB", "RABO", "ABNA", "SNSB", "ASNB", "TRIO", "KNAB", "BUNQ")
OPENING_BALANCE = Decimal("2847.35")
BANK_COSTS = Decimal("8.95")
# Day 0 must lie this far before today, so the spring (collection, returns, reminders, the call
# list and the statement after it) has happened.
SPRING_DAYS = 120
RUN_DAYS = (0, 175, 266)  # the three dues runs: early January, 1 July, the end of September
REMINDER_FIRST_DAY = 44  # 14 days after the due date of the first run; then every week
# Bank statements: (first day, last day, imported on), counted from day 0.
STATEMENTS = (
    (-5, 23, 26),
    (24, 37, 40),
    (38, 51, 54),
    (52, 65, 68),
    (66, 113, 117),
    (114, 205, 208),
    (206, 266, 271),
    (267, 296, 299),
    (297, 324, 327),
)
RETURNS = ("AM04", "MD06", "AC04")  # no money; refund asked at the bank; account closed
OPEN = (Invoice.Status.OPEN, Invoice.Status.PARTLY_PAID)
# Order of what happens on the same day.
(RUN, MANDATES, BATCH, IMPORT, AFTER_IMPORT, PAY_ONLINE, REMINDERS, TODAY) = range(8)


@dataclass
class MoneyResult:
    invoices: int = 0
    batches: int = 0
    statements: int = 0
    online_payments: int = 0
    on_call_list: int = 0


def money_year_build(*, rng: random.Random, today: dt.date, treasurer: User, own_household_id: int):
    """Build the year (see the module docstring); the register must be there already."""
    return _MoneyYear(
        rng=rng, today=today, treasurer=treasurer, own_household_id=own_household_id
    ).build()


def _business_day(day: dt.date, *, back: bool = False) -> dt.date:
    while not is_business_day(day):
        day += dt.timedelta(days=-1 if back else 1)
    return day


def _day_zero(today: dt.date) -> dt.date:
    start = _business_day(dt.date(today.year, 1, 6))
    if (today - start).days < SPRING_DAYS:
        start = _business_day(today - dt.timedelta(days=SPRING_DAYS), back=True)
    return start


def _account_name(member: Member | None, fallback: str) -> str:
    """How a bank shows the account holder: 'H. de Vries'."""
    if member is None:
        return fallback[:70]
    family = f"{member.tussenvoegsel} {member.family_name}".strip()
    return f"{member.given_name[:1]}. {family}"


@dataclass
class _Line:
    """One entry of a future bank statement: its day, its XML and what it adds to the balance."""

    day: dt.date
    xml: str
    amount: Decimal


class _MoneyYear:
    def __init__(
        self, *, rng: random.Random, today: dt.date, treasurer: User, own_household_id: int
    ):
        self.rng = rng
        self.today = today
        self.treasurer = treasurer
        self.own_household_id = own_household_id
        self.start = _day_zero(today)
        self.year = today.year
        self.events: list[tuple[dt.date, int, int, Callable[[], object]]] = []
        self.order = itertools.count()
        self.lines: list[_Line] = []
        self.refs = itertools.count(1)
        self.balance = OPENING_BALANCE
        self.result = MoneyResult()
        self.accounts: dict[int, tuple[str, str]] = {}  # household -> (IBAN, holder)
        self.outbox_mark = OutboxMessage.objects.aggregate(m=Max("pk"))["m"] or 0
        self.ledger_mark = LedgerEntry.objects.aggregate(m=Max("pk"))["m"] or 0
        # Without DEBUG or COOP_DEMO the demo provider refuses to work: no online payments then.
        self.provider = DemoProvider() if demo_allowed() else None
        self.paid_twice: int | None = None  # the invoice a member pays twice in the autumn

    # The timeline --------------------------------------------------------------------------------

    def day(self, offset: int) -> dt.date:
        return self.start + dt.timedelta(days=offset)

    def at(self, day: dt.date, order: int, action: Callable[..., object], *args, **kwargs) -> None:
        """Do `action(*args, **kwargs)` on `day`, if that day is not after today."""
        if day <= self.today:
            call: Callable[[], object] = functools.partial(action, *args, **kwargs)
            heapq.heappush(self.events, (day, order, next(self.order), call))

    def between(self, first: int, last: int) -> dt.date:
        """A random working day from day `first` to day `last` (what falls after today does not
        happen: `at` skips it, and no statement that late is imported)."""
        return _business_day(self.day(self.rng.randint(first, last)))

    def build(self) -> MoneyResult:
        scheme_create(
            year=self.year,
            first_member_amount=Decimal("10.00"),
            further_member_amount=Decimal("7.50"),
            reduced_amount=Decimal("5.00"),
            mid_year=ContributionScheme.MidYear.PER_MONTH,
            by=self.treasurer,
        )
        ContributionScheme.objects.filter(year=self.year).update(
            created_at=self._aware(self.day(-20))
        )
        plans = (self._plan_first, self._plan_second, self._plan_third)
        for run, plan in zip(RUN_DAYS, plans, strict=True):
            self.at(self.day(run), RUN, self._run, run, plan)
        for first, last, imported in STATEMENTS:
            day = _business_day(self.day(imported))
            last_one = imported == STATEMENTS[-1][2]
            self.at(day, IMPORT, self._statement, first, last, day, final=last_one)
        for week in range(REMINDER_FIRST_DAY, (self.today - self.start).days + 1, 7):
            day = self.day(week)
            self.at(day, REMINDERS, reminders_send, today=day)
        while self.events:
            day, _order, _n, action = heapq.heappop(self.events)
            action()
            self._stamp(day)
        self.result.invoices = Invoice.objects.filter(dues_year=self.year).count()
        self.result.batches = CollectionBatch.objects.count()
        self.result.statements = BankStatement.objects.count()
        self.result.online_payments = Payment.objects.count()
        self.result.on_call_list = Invoice.objects.filter(
            status__in=OPEN, reminder_level__gte=LEVEL_CALL_LIST
        ).count()
        return self.result

    def _aware(self, day: dt.date, hour: int = 9) -> dt.datetime:
        moment = dt.time(hour, self.rng.randrange(60))
        return timezone.make_aware(dt.datetime.combine(day, moment))

    def _stamp(self, day: dt.date) -> None:
        """What the services queued on `day` was sent that day; letters were printed the next,
        unless they are from the last two weeks. Receipts are queued as the task would."""
        entries = LedgerEntry.objects.filter(pk__gt=self.ledger_mark)
        receipts_queue(entries=entries)
        self.ledger_mark = entries.aggregate(m=Max("pk"))["m"] or self.ledger_mark
        new = OutboxMessage.objects.filter(pk__gt=self.outbox_mark)
        top = new.aggregate(m=Max("pk"))["m"]
        if top is None:
            return
        at = self._aware(day, hour=7) if day < self.today else timezone.now()
        new.update(created_at=at)
        new.filter(channel=OutboxMessage.Channel.EMAIL).update(
            status=OutboxMessage.Status.SENT, sent_at=at
        )
        if day < self.today - dt.timedelta(days=14):
            new.filter(channel=OutboxMessage.Channel.LETTER).update(
                status=OutboxMessage.Status.PRINTED, sent_at=at + dt.timedelta(days=1)
            )
        self.outbox_mark = top

    # Dues runs -------------------------------------------------------------------------------

    def _run(self, run: int, plan: Callable[[list[Invoice]], None]) -> None:
        """The dues run of day `run`, for the register as it was that day."""
        day = self.day(run)
        later = list(
            Member.objects.filter(status=Member.Status.ACTIVE)
            .filter(joined_on__gt=day)
            .values_list("pk", flat=True)
        )
        Member.objects.filter(pk__in=later).update(status=Member.Status.APPLIED)
        mark = Invoice.objects.aggregate(m=Max("pk"))["m"] or 0
        dues_run_execute(year=self.year, by=self.treasurer)
        Member.objects.filter(pk__in=later).update(status=Member.Status.ACTIVE)
        scheme = ContributionScheme.objects.get(year=self.year)
        created = Invoice.objects.filter(pk__gt=mark)
        created.update(
            issued_on=day,
            due_on=day + dt.timedelta(days=scheme.due_days),
            created_at=self._aware(day, hour=10),
        )
        if run == 0:
            ContributionScheme.objects.filter(pk=scheme.pk).update(
                locked_at=self._aware(day, hour=10)
            )
        invoices = list(
            created.exclude(household_id=self.own_household_id)
            .select_related("household")
            .order_by("pk")
        )
        self.rng.shuffle(invoices)
        plan(invoices)

    def _slices(self, invoices: list[Invoice], *shares: float) -> list[list[Invoice]]:
        """The invoices cut into groups of these shares (the rest is the last group)."""
        groups, start = [], 0
        for share in shares:
            end = start + round(share * len(invoices))
            groups.append(invoices[start:end])
            start = end
        groups.append(invoices[start:])
        return groups

    def _plan_first(self, invoices: list[Invoice]) -> None:
        # The last group (1.5 %) still owes: the call list.
        debit, prompt, after_first, online_first, after_second, online_second, after_call, _rest = (
            self._slices(invoices, 0.25, 0.52, 0.10, 0.04, 0.03, 0.01, 0.035)
        )
        self._mandates(debit, signed=(-900, -30))
        created = self.day(14)
        collection = _business_day(self.day(35))
        self.at(created, BATCH, self._batch, created, collection, returns=True)
        for invoice in prompt:
            self._transfer(invoice, self.between(1, 36))
        for invoice in after_first:
            self._transfer(invoice, self.between(45, 51))
        for invoice in after_second:
            self._transfer(invoice, self.between(59, 64))
        for invoice in after_call:
            self._transfer(invoice, self.between(75, 107))
        for invoice in online_first:
            self._online(invoice, self.between(45, 55))
        for n, invoice in enumerate(online_second):
            # One member gave up at the bank first and paid the next day.
            day = self.between(59, 63)
            if n == 0:
                self._online(invoice, day, outcome="canceled")
                day += dt.timedelta(days=1)
            self._online(invoice, day)
        self._gift(self.between(8, 20), Decimal("50.00"), "Gift opbrengst kerstmarkt")

    def _plan_second(self, invoices: list[Invoice]) -> None:
        transfer, online, _never = self._slices(invoices, 0.8, 0.1)
        for invoice in transfer:
            self._transfer(invoice, self.between(176, 203))
        for invoice in online:
            self._online(invoice, self.between(220, 225))

    def _plan_third(self, invoices: list[Invoice]) -> None:
        debit, transfer, rest = self._slices(invoices, 0.12, 0.55)
        self._mandates(debit, signed=(268, 280))
        created = self.day(315)
        collection = _business_day(max(self.day(341), created + dt.timedelta(days=15)))
        self.at(created, BATCH, self._batch, created, collection, returns=False)
        for invoice in transfer:
            self._transfer(invoice, self.between(268, 295))
        if rest:
            # A full year's contribution on an invoice for part of the year: overpaid.
            self._transfer(rest[0], self.between(300, 305), amount=Decimal("10.00"))
        if len(rest) > 1:
            # Paid after the reminder, without the invoice number: the treasurer must link it.
            self._transfer(rest[1], self.between(313, 318), text="Contributie {name}")
        for invoice in rest[2:4]:
            self.at(self.today, TODAY, self._online_now, invoice)
        # A member whose contribution the bank collected transfers it as well: paid twice,
        # linked by hand when the statement comes in, refunded today.
        collected = (
            CollectionItem.objects.filter(
                status=CollectionItem.Status.COLLECTED, invoice__status=Invoice.Status.PAID
            )
            .select_related("invoice__household")
            .order_by("pk")
            .first()
        )
        if collected is not None:
            self.paid_twice = collected.invoice_id
            self._transfer(collected.invoice, self.between(309, 312))
            self.at(self.today, TODAY, self._refund)
        self._gift(self.between(318, 322), Decimal("25.00"), "Gift voor de buurtmaaltijd")

    # Paying --------------------------------------------------------------------------------------

    def _account(self, invoice: Invoice) -> tuple[str, str]:
        household_id = invoice.household_id
        if household_id not in self.accounts:
            mandate = Mandate.objects.filter(household_id=household_id).order_by("-pk").first()
            if mandate is not None:
                self.accounts[household_id] = (mandate.iban, mandate.account_holder)
            else:
                member = invoice.household.members.order_by("number").first()
                iban = IBAN.generate(
                    "NL", bank_code=self.rng.choice(BANKS), account_code=f"{household_id:010d}"
                )
                self.accounts[household_id] = (
                    iban.compact,
                    _account_name(member, invoice.recipient_name),
                )
        return self.accounts[household_id]

    def _mandates(self, invoices: list[Invoice], *, signed: tuple[int, int]) -> None:
        # The service refuses a mandate signed 36 months ago and never used.
        earliest = timezone.localdate() - dt.timedelta(days=34 * 30)
        for invoice in invoices:
            signed_on = max(self.day(self.rng.randint(*signed)), earliest)
            member = invoice.household.members.current().order_by("number").first()
            iban = IBAN.generate(
                "NL", bank_code=self.rng.choice(BANKS), account_code=f"{invoice.household_id:010d}"
            )
            self.at(signed_on, MANDATES, self._mandate, invoice, member, iban.compact, signed_on)

    def _mandate(
        self, invoice: Invoice, member: Member | None, iban: str, signed_on: dt.date
    ) -> None:
        mandate = mandate_record_paper(
            household=invoice.household,
            account_holder=member.full_name if member else invoice.recipient_name,
            iban=iban,
            signed_on=signed_on,
            signed_by=member,
            by=self.treasurer,
        )
        Mandate.objects.filter(pk=mandate.pk).update(
            created_at=self._aware(min(signed_on + dt.timedelta(days=3), self.today))
        )

    def _transfer(
        self, invoice: Invoice, day: dt.date, *, amount: Decimal | None = None, text: str = ""
    ) -> None:
        iban, holder = self._account(invoice)
        amount = amount or invoice.total
        words = self.rng.choice(
            [
                "Contributie {year} factuur {number}",
                "{number}",
                "factuur {number} {name}",
                "Contributie {number} fam. {family}",
            ]
        )
        family = holder.split(". ", 1)[-1]
        remittance = (text or words).format(
            year=self.year, number=invoice.number, name=holder, family=family
        )
        details = camt_transaction("NOTPROVIDED", amount, holder, iban, remittance)
        ref = f"{day:%Y%m%d}{next(self.refs):06d}"
        self.lines.append(_Line(day, camt_entry(ref, amount, CREDIT, day, details), amount))

    def _gift(self, day: dt.date, amount: Decimal, text: str) -> None:
        iban = IBAN.generate("NL", bank_code="TRIO", account_code="0198765432").compact
        details = camt_transaction("NOTPROVIDED", amount, "A.J. Kuipers", iban, text)
        ref = f"{day:%Y%m%d}{next(self.refs):06d}"
        self.lines.append(_Line(day, camt_entry(ref, amount, CREDIT, day, details), amount))

    def _online(self, invoice: Invoice, day: dt.date, *, outcome: str = "paid") -> None:
        self.at(day, PAY_ONLINE, self._pay_online, invoice.pk, day, outcome)

    def _online_now(self, invoice: Invoice) -> None:
        self._pay_online(invoice.pk, self.today, "paid", hours_ago=self.rng.randint(1, 3))

    def _pay_online(
        self, invoice_id: int, day: dt.date, outcome: str, *, hours_ago: int | None = None
    ) -> None:
        """What the member's click on "Betalen" and the demo checkout do: a payment at the demo
        provider, then exactly what its webhook applies."""
        invoice = Invoice.objects.get(pk=invoice_id)
        balance = invoice_balance(invoice)
        if self.provider is None or invoice.status not in OPEN or balance <= ZERO:
            return
        payment = Payment.objects.create(
            invoice=invoice, provider=self.provider.name, amount=balance
        )
        remote = self.provider.create_payment(
            amount=balance,
            description=f"Contributie {invoice.dues_year} {invoice.number}",
            redirect_url=settings.SITE_URL + payment_return_path(payment),
            webhook_url="",
            metadata={
                "invoice_id": invoice.pk,
                "invoice_number": invoice.number,
                "payment_id": payment.pk,
            },
        )
        payment.provider_id = remote.id
        payment.checkout_url = remote.checkout_url
        payment.save(update_fields=["provider_id", "checkout_url", "updated_at"])
        self.provider.checkout(id=remote.id, outcome=outcome)
        payment_apply(
            payment=payment,
            remote=self.provider.get_payment(remote.id),
            today=None if hours_ago is not None else day,
        )
        if hours_ago is not None:
            started = timezone.now() - dt.timedelta(hours=hours_ago)
        else:
            started = self._aware(day, hour=self.rng.randint(8, 21))
        Payment.objects.filter(pk=payment.pk).update(created_at=started, updated_at=started)
        DemoPayment.objects.filter(pk=remote.id).update(
            created_at=started, expires_at=started + dt.timedelta(minutes=15)
        )

    # Direct debit -------------------------------------------------------------------------------

    def _batch(self, created: dt.date, collection: dt.date, *, returns: bool) -> None:
        """A batch made on `created`, pre-notified, exported the next day, and collected on
        `collection` if that day has come; with `returns`, three debits come back."""
        if not batch_preview()["count"]:
            return  # a small demo may have no one left to collect from
        batch = batch_create(collection_date=collection, by=self.treasurer, today=created)
        batch_prenotify(batch=batch)
        exported = created + dt.timedelta(days=1)
        self._stamp(created)
        # The treasurer prints the pre-notice letters before the file goes to the bank.
        OutboxMessage.objects.filter(
            key__in=[prenotice_key(pk) for pk in batch.items.values_list("pk", flat=True)],
            channel=OutboxMessage.Channel.LETTER,
        ).update(status=OutboxMessage.Status.PRINTED, sent_at=self._aware(exported, hour=8))
        batch_export(batch=batch, by=self.treasurer, today=exported)
        CollectionBatch.objects.filter(pk=batch.pk).update(
            created_at=self._aware(created, hour=20), exported_at=self._aware(exported, hour=9)
        )
        items = list(batch.items.select_related("mandate", "invoice").order_by("pk"))
        if not items or collection > self.today:
            return
        details = "".join(
            camt_transaction(
                item.end_to_end_id,
                item.amount,
                item.mandate.account_holder,
                item.mandate.iban,
                f"Contributie {self.year} factuur {item.invoice.number}",
            )
            for item in items
        )
        total = sum((item.amount for item in items), ZERO)
        ref = f"{collection:%Y%m%d}{next(self.refs):06d}"
        self.lines.append(
            _Line(collection, camt_entry(ref, total, CREDIT, collection, details), total)
        )
        collected = _business_day(collection + dt.timedelta(days=1))
        self.at(
            collected, BATCH, batch_mark_collected, batch=batch, by=self.treasurer, today=collected
        )
        if not returns:
            return
        chosen = self.rng.sample(items, min(len(items), len(RETURNS)))
        for n, (item, reason) in enumerate(zip(chosen, RETURNS, strict=False)):
            day = _business_day(collection + dt.timedelta(days=3 + n))
            details = camt_transaction(
                item.end_to_end_id,
                item.amount,
                item.mandate.account_holder,
                item.mandate.iban,
                "Storno",
                reason,
            )
            ref = f"{day:%Y%m%d}{next(self.refs):06d}"
            self.lines.append(
                _Line(day, camt_entry(ref, item.amount, DEBIT, day, details), -item.amount)
            )
            invoice = item.invoice
            if reason == "AM04":
                self._transfer(invoice, self.between(59, 62))  # paid after the reminder
            elif reason == "MD06":
                self._online(invoice, self.between(58, 62))

    # Bank statements -----------------------------------------------------------------------------

    def _statement(self, first: int, last: int, day: dt.date, *, final: bool) -> None:
        """The statement of days `first` to `last`, imported on `day`."""
        opened, closed = _business_day(self.day(first)), _business_day(self.day(last), back=True)
        lines = sorted(
            (line for line in self.lines if opened <= line.day <= closed), key=lambda x: x.day
        )
        self.lines = [line for line in self.lines if not opened <= line.day <= closed]
        costs_ref = f"{closed:%Y%m%d}{next(self.refs):06d}"
        month = closed.strftime("%m-%Y")
        entries = [line.xml for line in lines] + [
            camt_entry(
                costs_ref, BANK_COSTS, DEBIT, closed, info=f"Kosten zakelijke rekening {month}"
            )
        ]
        movement = sum((line.amount for line in lines), ZERO) - BANK_COSTS
        content = camt_statement(
            statement_id=f"ZP-{closed:%Y%m%d}",
            entries=entries,
            movement=movement,
            day=closed,
            opening=self.balance,
            opened_on=opened,
        )
        self.balance += movement
        result = statement_book(
            file_name=f"afschrift-{opened:%Y%m%d}-{closed:%Y%m%d}.xml",
            content=content,
            parsed=statement_read(content),
            by=self.treasurer,
        )
        BankStatement.objects.filter(pk=result.statement.pk).update(
            imported_at=self._aware(day, hour=10)
        )
        returned = CollectionItem.objects.filter(status=CollectionItem.Status.RETURNED)
        collection_returns_notify(item_ids=list(returned.values_list("pk", flat=True)))
        if not final:
            self.at(day, AFTER_IMPORT, self._set_aside, result.statement)
        else:
            self.at(day, AFTER_IMPORT, self._link_paid_twice)

    def _set_aside(self, statement: BankStatement) -> None:
        """The treasurer ignores what is no contribution: the bank costs, a gift."""
        unmatched = statement.transactions.filter(status=BankTransaction.Status.UNMATCHED)
        for line in unmatched.filter(amount__lt=0, end_to_end_id=""):
            transaction_ignore(transaction=line, by=self.treasurer, note="Bankkosten")
        for line in unmatched.filter(amount__gt=0, remittance__startswith="Gift"):
            transaction_ignore(transaction=line, by=self.treasurer, note="Gift, geen contributie")

    def _link_paid_twice(self) -> None:
        """The transfer for an invoice the bank had already collected: linked by hand."""
        if self.paid_twice is None:
            return
        invoice = Invoice.objects.get(pk=self.paid_twice)
        line = BankTransaction.objects.filter(
            status=BankTransaction.Status.UNMATCHED, remittance__contains=invoice.number
        ).first()
        if line is not None:
            transaction_resolve(transaction=line, invoice=invoice, by=self.treasurer)

    def _refund(self) -> None:
        if self.paid_twice is None:
            return
        invoice = Invoice.objects.get(pk=self.paid_twice)
        if invoice_balance(invoice) >= 0:
            return
        iban, holder = self._account(invoice)
        overpayment_refund(invoice=invoice, iban=iban, account_holder=holder, by=self.treasurer)
