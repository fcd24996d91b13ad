"""The yearly dues run (contributierun); the schemes it charges by are in schemes.py.

Rules of the run, in one place:

- Who is charged for year Y: members with status *active* at the moment of the run who joined on or
  before 31 December of Y. Applied members (not yet accepted) and ended members are not charged,
  nor a member whose notice (still waiting for the coordinator) ends before Y starts: they are
  listed as skipped. A household without anyone left to charge gets no invoice.
- Per household, members are ranked by joining date (then member number). The first member on the
  standard rate pays `first_member_amount`, every further standard member `further_member_amount`.
  Members on the reduced rate pay `reduced_amount` wherever they rank. Free members (honorary) are
  left off the invoice and listed as skipped in the preview.
- A member joins "mid-year" when they joined in Y after January. The scheme decides: full amount,
  nothing that year, or per remaining month: amount × (13 − joining month) / 12, rounded half up to
  cents. The joining month counts, so joining in March is 10 months; January is a full year.
- A household whose total is € 0,00 gets no invoice. Below the scheme's minimum invoice amount
  (0 is none) the household gets no invoice either (skipped, like € 0,00), or pays the minimum: a
  last line "Minimumbedrag" brings the total up to it; the scheme decides. The minimum is checked
  on the household's total, after the per-month amounts. A household gets at most one contribution
  invoice per year (a database constraint). Running again only adds invoices for households that
  have none yet; a new member in a household that already has one is listed in the preview for the
  treasurer (no automatic extra invoice). A member already on a contribution invoice of the year
  (for example in their previous household) is not charged again.
- Each invoice's lines and recipient name are written in the invoice's language (that of the
  household's first member charged), whatever language the treasurer uses.
- Invoice numbers come from the yearly sequence of the issue date (`invoice_number_next`), drawn in
  one block inside the run's transaction: a rolled-back run leaves no gap.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, override

from coop.accounts.models import User
from coop.core.services import sequence_next
from coop.lib.money import ZERO, format_money, round_money
from members.models import Member, MembershipNotice

from ..models import ContributionScheme, Invoice, InvoiceLine, MemberRate
from . import FinanceError
from .overpayments import household_credits_apply
from .schemes import (
    MAX_AMOUNT,
    MONEY_FIELDS,
    SCHEME_FIELDS,
    YEAR_MAX,
    YEAR_MIN,
    member_rate_set,
    scheme_create,
    scheme_update,
)

__all__ = [
    "MAX_AMOUNT",
    "MONEY_FIELDS",
    "SCHEME_FIELDS",
    "YEAR_MAX",
    "YEAR_MIN",
    "DuesPreview",
    "DuesRunResult",
    "PlannedInvoice",
    "PlannedLine",
    "SkipReason",
    "Skipped",
    "dues_run_execute",
    "dues_run_preview",
    "dues_run_summary",
    "member_rate_set",
    "scheme_create",
    "scheme_update",
]


# The plan: who pays what -------------------------------------------------------------------------


class SkipReason(models.TextChoices):
    """Why a member or household gets no (new) invoice; the values are the page's `?groep=`."""

    APPLIED = "aangemeld", gettext_lazy("Aangemeld, nog geen lid")
    LATER = "na-dit-jaar", gettext_lazy("Lid vanaf een later jaar")
    LEFT = "opgezegd", gettext_lazy("Opgezegd, weg voor dit jaar")
    FREE = "gratis", gettext_lazy("Gratis lid")
    ON_INVOICE = "al-op-factuur", gettext_lazy("Staat al op een factuur van dit jaar")
    MID_YEAR = "halverwege", gettext_lazy("Dit jaar lid geworden; de regeling rekent niets")
    ZERO = "nul", gettext_lazy("Totaal € 0,00")
    BELOW_MINIMUM = "onder-minimum", gettext_lazy("Onder het minimumbedrag")
    NEW_IN_INVOICED = (
        "nieuw-in-huishouden",
        gettext_lazy("Nieuw lid in een huishouden dat al een factuur heeft"),
    )


@dataclass
class PlannedLine:
    member_id: int | None
    name: str
    description: str
    amount: Decimal


@dataclass
class PlannedInvoice:
    household_id: int
    recipient_name: str
    recipient_email: str
    language: str
    street: str
    house_number: str
    postcode: str
    town: str
    country: str
    lines: list[PlannedLine] = field(default_factory=list)
    # The household's own total when the scheme raised it to the minimum; None otherwise.
    raised_from: Decimal | None = None

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines), ZERO)

    @property
    def address(self) -> str:
        return f"{self.street} {self.house_number}, {self.postcode} {self.town}"


@dataclass
class Skipped:
    member_id: int | None
    household_id: int
    name: str
    address: str
    reason: str
    code: str


@dataclass
class DuesPreview:
    """What a run for `year` would do now. `invoices` are the invoices it would create."""

    year: int
    scheme: ContributionScheme
    invoices: list[PlannedInvoice]
    skipped: list[Skipped]
    new_in_invoiced: list[Skipped]
    already_invoiced: int

    @property
    def household_count(self) -> int:
        return len(self.invoices)

    @property
    def member_count(self) -> int:
        return sum(len(invoice.lines) for invoice in self.invoices)

    @property
    def total(self) -> Decimal:
        return sum((invoice.total for invoice in self.invoices), ZERO)

    def skipped_groups(self) -> list[tuple[SkipReason, int]]:
        """Each reason with how many it skips, in a fixed order; reasons that skip no one are left
        out. Members new in a household that already has an invoice count as a group too."""
        counts = Counter(item.code for item in self.skipped)
        counts[SkipReason.NEW_IN_INVOICED] = len(self.new_in_invoiced)
        return [(reason, counts[reason]) for reason in SkipReason if counts[reason]]

    def skipped_in(self, reason: str) -> list[Skipped]:
        if reason == SkipReason.NEW_IN_INVOICED:
            return self.new_in_invoiced
        return [item for item in self.skipped if item.code == reason]

    def raised_to_minimum(self) -> list[PlannedInvoice]:
        return [invoice for invoice in self.invoices if invoice.raised_from is not None]


@dataclass
class DuesRunResult:
    year: int
    created: int
    lines: int
    total: Decimal
    first_number: str = ""
    last_number: str = ""
    already_invoiced: int = 0


def _house_number(number: int, addition: str) -> str:
    if not addition:
        return str(number)
    return f"{number}{'-' if addition[0].isdigit() else ''}{addition}"


def _remaining_months(joined_on: dt.date) -> int:
    return 13 - joined_on.month


_MEMBER_COLUMNS = (
    "pk", "household_id", "given_name", "tussenvoegsel", "family_name", "email", "language",
    "status", "joined_on", "applied_on", "dues_rate__rate", "dues_rate__reason",
    "household__street", "household__house_number", "household__house_number_addition",
    "household__postcode", "household__town", "household__country",
)  # fmt: skip


@dataclass(frozen=True)
class _InvoiceWords:
    """What the run writes on an invoice, in that invoice's language."""

    prefix: str
    minimum: str
    two: str
    more: str
    months: str
    one_month: str
    reduced: str
    first: str
    further: str


def _invoice_words(scheme: ContributionScheme, language: str) -> _InvoiceWords:
    with override(language or "nl"):
        # The scheme's description is the treasurer's text; the default one ("Contributie") has
        # a translation.
        description = _(scheme.description) if scheme.description else ""
        return _InvoiceWords(
            prefix=f"{description} {scheme.year} – ",
            minimum=_("Minimumbedrag (het totaal was %(total)s)"),
            two=_("%(a)s en %(b)s"),
            more=_("%(name)s en huisgenoten"),
            months=_("%(label)s, %(months)s maanden"),
            one_month=_("%(label)s, 1 maand"),
            reduced=_("verlaagd tarief"),
            first=_("eerste lid"),
            further=_("volgend lid"),
        )


def _plan(*, scheme: ContributionScheme) -> DuesPreview:
    """Work out the run from four queries; shared by the preview and the run itself.

    Runs once per member of the whole register, so the loop works on plain tuples and translates
    its words once, before the loop.
    """
    year = scheme.year
    year_start, year_end = dt.date(year, 1, 1), dt.date(year, 12, 31)
    rows = (
        Member.objects.filter(status__in=[Member.Status.ACTIVE, Member.Status.APPLIED])
        .order_by("household_id", "joined_on", "number")
        .values_list(*_MEMBER_COLUMNS)
    )
    invoiced: dict[int, str] = dict(
        Invoice.objects.filter(kind=Invoice.Kind.INVOICE, dues_year=year).values_list(
            "household_id", "number"
        )
    )
    invoiced_members: dict[int, str] = dict(
        InvoiceLine.objects.filter(
            invoice__kind=Invoice.Kind.INVOICE, invoice__dues_year=year, member_id__isnull=False
        ).values_list("member_id", "invoice__number")
    )

    # Ended members are not read at all; a member whose notice (not yet confirmed) ends before
    # the year starts is gone by then too.
    leaving: dict[int, dt.date] = dict(
        MembershipNotice.objects.filter(
            status=MembershipNotice.Status.PENDING,
            end_on__lt=year_start,
            member__status__in=[Member.Status.ACTIVE, Member.Status.APPLIED],
        ).values_list("member_id", "end_on")
    )

    text_applied = _("Aangemeld, nog geen lid.")
    text_left = _("Opgezegd per %(date)s, voor %(year)s.")
    text_later = _("Lid sinds %(date)s, na dit jaar.")
    text_free = _("Gratis lid: %(reason)s")
    text_free_plain = _("Gratis lid.")
    text_on_invoice = _("Staat al op factuur %(number)s.")
    text_none = _("Lid geworden in %(year)s; de regeling rekent dat jaar niets.") % {"year": year}
    text_new = _("Nieuw lid in huishouden met factuur %(number)s.")
    text_zero = _("Totaal € 0,00: geen factuur.")
    text_below = _("Totaal %(total)s is minder dan het minimumbedrag %(minimum)s: geen factuur.")
    # The words on the invoices, once per language.
    words_in: dict[str, _InvoiceWords] = {}

    def words_for(language: str) -> _InvoiceWords:
        if language not in words_in:
            words_in[language] = _invoice_words(scheme, language)
        return words_in[language]

    amounts = {
        MemberRate.Rate.REDUCED: scheme.reduced_amount,
        "first": scheme.first_member_amount,
        "further": scheme.further_member_amount,
    }
    per_month = scheme.mid_year == ContributionScheme.MidYear.PER_MONTH
    none_mid_year = scheme.mid_year == ContributionScheme.MidYear.NONE
    minimum = scheme.minimum_invoice_amount
    charge_minimum = scheme.below_minimum == ContributionScheme.BelowMinimum.CHARGE
    minimum_text = format_money(minimum)

    invoices: list[PlannedInvoice] = []
    skipped: list[Skipped] = []
    new_in_invoiced: list[Skipped] = []
    current: PlannedInvoice | None = None
    names: list[str] = []
    standard_count = 0

    def close(planned: PlannedInvoice | None) -> None:
        if planned is None or not planned.lines:
            return
        words = words_for(planned.language)
        total = planned.total
        if total <= 0:
            skipped.append(
                Skipped(
                    None,
                    planned.household_id,
                    planned.recipient_name,
                    planned.address,
                    text_zero,
                    SkipReason.ZERO,
                )
            )
            return
        if total < minimum:
            values = {"total": format_money(total), "minimum": minimum_text}
            if not charge_minimum:
                skipped.append(
                    Skipped(
                        None,
                        planned.household_id,
                        planned.recipient_name,
                        planned.address,
                        text_below % values,
                        SkipReason.BELOW_MINIMUM,
                    )
                )
                return
            planned.raised_from = total
            planned.lines.append(
                PlannedLine(
                    None, "", f"{words.prefix}{words.minimum % values}"[:200], minimum - total
                )
            )
        if len(names) == 2:
            planned.recipient_name = words.two % {"a": names[0], "b": names[1]}
        elif len(names) > 2:
            planned.recipient_name = words.more % {"name": names[0]}
        planned.recipient_name = planned.recipient_name[:300]
        invoices.append(planned)

    def address(row) -> str:
        return f"{row[12]} {_house_number(row[13], row[14])}, {row[15]} {row[16]}"

    for row in rows.iterator(chunk_size=5000):
        (pk, household_id, given, tussenvoegsel, family, email, language, status, joined_on,
         applied_on, rate, rate_reason) = row[:12]  # fmt: skip
        name = " ".join(p for p in (given, tussenvoegsel, family) if p)
        reason = code = ""
        joined_on = joined_on or applied_on
        if status == Member.Status.APPLIED:
            reason, code = text_applied, SkipReason.APPLIED
        elif pk in leaving:
            reason = text_left % {"date": leaving[pk].strftime("%d-%m-%Y"), "year": year}
            code = SkipReason.LEFT
        elif joined_on > year_end:
            reason, code = text_later % {"date": joined_on.strftime("%d-%m-%Y")}, SkipReason.LATER
        elif rate == MemberRate.Rate.FREE:
            reason = text_free % {"reason": rate_reason} if rate_reason else text_free_plain
            code = SkipReason.FREE
        elif pk in invoiced_members:
            reason = text_on_invoice % {"number": invoiced_members[pk]}
            code = SkipReason.ON_INVOICE
        months = 12
        mid_year = joined_on.year == year and joined_on.month > 1
        if not reason and mid_year:
            if none_mid_year:
                reason, code = text_none, SkipReason.MID_YEAR
            elif per_month:
                months = _remaining_months(joined_on)
        if reason:
            skipped.append(Skipped(pk, household_id, name, address(row), reason, code))
            continue
        if household_id in invoiced:
            text = text_new % {"number": invoiced[household_id]}
            new_in_invoiced.append(
                Skipped(pk, household_id, name, address(row), text, SkipReason.NEW_IN_INVOICED)
            )
            continue

        if current is None or current.household_id != household_id:
            close(current)
            current = PlannedInvoice(
                household_id=household_id,
                recipient_name=name,
                recipient_email=email,
                language=language or "nl",
                street=row[12],
                house_number=_house_number(row[13], row[14]),
                postcode=row[15],
                town=row[16],
                country=row[17] or "NL",
            )
            names = []
            standard_count = 0
            words = words_for(current.language)
        if not current.recipient_email and email:
            current.recipient_email = email
        names.append(name)

        if rate == MemberRate.Rate.REDUCED:
            amount, label = amounts[MemberRate.Rate.REDUCED], words.reduced
        elif standard_count == 0:
            amount, label = amounts["first"], words.first
            standard_count += 1
        else:
            amount, label = amounts["further"], words.further
            standard_count += 1
        if months < 12:
            amount = round_money(amount * months / 12)
            label = (words.one_month if months == 1 else words.months) % {
                "label": label,
                "months": months,
            }
        current.lines.append(PlannedLine(pk, name, f"{words.prefix}{name} ({label})"[:200], amount))
    close(current)
    return DuesPreview(
        year=year,
        scheme=scheme,
        invoices=invoices,
        skipped=skipped,
        new_in_invoiced=new_in_invoiced,
        already_invoiced=len(invoiced),
    )


def _scheme_for(year: int) -> ContributionScheme:
    try:
        return ContributionScheme.objects.get(year=year)
    except ContributionScheme.DoesNotExist:
        raise FinanceError(
            _("Er is nog geen contributieregeling voor %(year)s.") % {"year": year}
        ) from None


def dues_run_preview(*, year: int) -> DuesPreview:
    """Who would get an invoice for `year`, for how much, and who is skipped and why."""
    return _plan(scheme=_scheme_for(year))


def _bulk_insert(model, columns: list[str], rows: list[tuple]) -> None:
    """Insert many rows in one go: COPY on PostgreSQL, bulk_create elsewhere.

    `columns` are attribute names; every other column gets its field's default, so a field added
    later with a default needs no change here.
    """
    if not rows:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create(
            [model(**dict(zip(columns, row, strict=True))) for row in rows], batch_size=1000
        )
        return
    fields = {f.attname: f for f in model._meta.concrete_fields if not f.primary_key}
    rest = [f for name, f in fields.items() if name not in columns]
    defaults = tuple(f.get_db_prep_save(f.get_default(), connection) for f in rest)
    names = ", ".join(
        connection.ops.quote_name(c)
        for c in [fields[n].column for n in columns] + [f.column for f in rest]
    )
    statement = f"COPY {connection.ops.quote_name(model._meta.db_table)} ({names}) FROM STDIN"
    with (
        connection.wrap_database_errors,
        connection.cursor() as cursor,
        cursor.cursor.copy(statement) as copy,
    ):
        for row in rows:
            copy.write_row(row + defaults)


INVOICE_COLUMNS = [
    "kind", "year", "sequence", "number", "household_id", "scheme_id", "dues_year",
    "recipient_name", "recipient_email", "street", "house_number", "postcode", "town", "country",
    "language", "issued_on", "due_on", "total", "status", "created_at", "created_by_id",
]  # fmt: skip
LINE_COLUMNS = ["invoice_id", "member_id", "description", "amount", "position"]


@transaction.atomic
def dues_run_execute(*, year: int, by: User | None = None) -> DuesRunResult:
    """Create the year's contribution invoices. Safe to run again: it only adds what is missing.

    The scheme row is locked for the whole run, so two runs (or a run and an edit of the scheme)
    take turns; the unique (household, dues_year) constraint backs that up. Invoices and lines are
    written with COPY: 33,000 households take seconds, not minutes.
    """
    try:
        scheme = ContributionScheme.objects.select_for_update().get(year=year)
    except ContributionScheme.DoesNotExist:
        raise FinanceError(
            _("Er is nog geen contributieregeling voor %(year)s.") % {"year": year}
        ) from None
    now = timezone.now()
    if scheme.locked_at is None:
        scheme.locked_at = now
        scheme.save(update_fields=["locked_at"])
    plan = _plan(scheme=scheme)
    result = DuesRunResult(
        year=year, created=0, lines=0, total=ZERO, already_invoiced=plan.already_invoiced
    )
    if not plan.invoices:
        return result

    issued_on = timezone.localdate()
    due_on = issued_on + dt.timedelta(days=scheme.due_days)
    number_year = issued_on.year
    count = len(plan.invoices)
    first = sequence_next(name=f"finance.invoice.{number_year}", count=count)
    last = first + count - 1
    by_id = by.pk if by is not None else None
    invoice_rows = [
        (
            Invoice.Kind.INVOICE.value,
            number_year,
            first + offset,
            f"{number_year}-{first + offset:06d}",
            planned.household_id,
            scheme.pk,
            year,
            planned.recipient_name,
            planned.recipient_email,
            planned.street,
            planned.house_number,
            planned.postcode,
            planned.town,
            planned.country,
            planned.language,
            issued_on,
            due_on,
            planned.total,
            Invoice.Status.OPEN.value,
            now,
            by_id,
        )  # fmt: skip
        for offset, planned in enumerate(plan.invoices)
    ]
    try:
        with transaction.atomic():
            _bulk_insert(Invoice, INVOICE_COLUMNS, invoice_rows)
            pks = dict(
                Invoice.objects.filter(year=number_year, sequence__range=(first, last)).values_list(
                    "sequence", "pk"
                )
            )
            line_rows = [
                (pks[first + offset], line.member_id, line.description, line.amount, position)
                for offset, planned in enumerate(plan.invoices)
                for position, line in enumerate(planned.lines, start=1)
            ]
            _bulk_insert(InvoiceLine, LINE_COLUMNS, line_rows)
    except IntegrityError:
        # Another process created an invoice for one of these households in the meantime. Undo the
        # whole run (numbers included) rather than leave a gap or half a run.
        raise FinanceError(
            _(
                "Tegelijk werden er al facturen gemaakt voor dit jaar. Er is niets veranderd; "
                "probeer het opnieuw."
            )
        ) from None
    # Surpluses households kept as credit go onto their new invoice.
    household_credits_apply(
        household_ids=[planned.household_id for planned in plan.invoices], by=by
    )
    result.created = count
    result.lines = len(line_rows)
    result.total = plan.total
    result.first_number = f"{number_year}-{first:06d}"
    result.last_number = f"{number_year}-{last:06d}"
    return result


def dues_run_summary(result: DuesRunResult) -> str:
    """One sentence for the treasurer after a run."""
    if not result.created:
        return _(
            "Geen nieuwe facturen: alle huishoudens hebben al een factuur voor %(year)s "
            "of betalen niets."
        ) % {"year": result.year}
    return ngettext(
        "%(count)s factuur gemaakt voor %(year)s (%(first)s), samen %(total)s.",
        "%(count)s facturen gemaakt voor %(year)s (%(first)s tot en met %(last)s), "
        "samen %(total)s.",
        result.created,
    ) % {
        "count": result.created,
        "year": result.year,
        "first": result.first_number,
        "last": result.last_number,
        "total": format_money(result.total),
    }
