"""Contribution schemes (contributieregelingen) and each member's rate: what the dues run charges.

A scheme is per year. Once a dues run used it, it is locked: an invoice is corrected with a credit
note, never by changing the scheme. The run itself lives in dues.py.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from coop.accounts.models import User
from coop.lib.money import ZERO, round_money
from members.models import Member

from ..models import ContributionScheme, MemberRate
from . import FinanceError

SCHEME_FIELDS = (
    "first_member_amount",
    "further_member_amount",
    "reduced_amount",
    "mid_year",
    "due_days",
    "description",
    "minimum_invoice_amount",
    "below_minimum",
)
MONEY_FIELDS = (
    "first_member_amount",
    "further_member_amount",
    "reduced_amount",
    "minimum_invoice_amount",
)
YEAR_MIN, YEAR_MAX = 2000, 2100
MAX_AMOUNT = Decimal("9999.99")


# Schemes -----------------------------------------------------------------------------------------


def _clean_scheme_values(values: dict[str, Any]) -> dict[str, Any]:
    cleaned = dict(values)
    for name in MONEY_FIELDS:
        if name not in cleaned:
            continue
        amount = cleaned[name]
        if isinstance(amount, float):
            raise TypeError("amounts must be Decimal")
        if amount is None:
            raise FinanceError(_("Vul een bedrag in euro's in, bijvoorbeeld 7,50."))
        amount = round_money(Decimal(amount))
        if amount < 0:
            raise FinanceError(_("Een bedrag kan niet negatief zijn."))
        if amount > MAX_AMOUNT:
            raise FinanceError(_("Dat bedrag is te hoog voor een contributie."))
        cleaned[name] = amount
    if "mid_year" in cleaned and cleaned["mid_year"] not in ContributionScheme.MidYear.values:
        raise FinanceError(_("Kies hoe iemand betaalt die halverwege het jaar lid wordt."))
    if (
        "below_minimum" in cleaned
        and cleaned["below_minimum"] not in ContributionScheme.BelowMinimum.values
    ):
        raise FinanceError(_("Kies wat er gebeurt als een factuur onder het minimumbedrag komt."))
    if "due_days" in cleaned and not 0 <= int(cleaned["due_days"]) <= 365:
        raise FinanceError(_("De betaaltermijn is 0 tot 365 dagen."))
    if "description" in cleaned:
        cleaned["description"] = str(cleaned["description"]).strip()[:140] or "Contributie"
    return cleaned


@transaction.atomic
def scheme_create(
    *,
    year: int,
    first_member_amount: Decimal,
    further_member_amount: Decimal,
    reduced_amount: Decimal,
    mid_year: str = ContributionScheme.MidYear.FULL,
    due_days: int = 30,
    description: str = "Contributie",
    minimum_invoice_amount: Decimal = ZERO,
    below_minimum: str = ContributionScheme.BelowMinimum.SKIP,
    by: User | None = None,
) -> ContributionScheme:
    if not YEAR_MIN <= int(year) <= YEAR_MAX:
        raise FinanceError(
            _("Kies een jaar tussen %(min)s en %(max)s.") % {"min": YEAR_MIN, "max": YEAR_MAX}
        )
    values = _clean_scheme_values(
        {
            "first_member_amount": first_member_amount,
            "further_member_amount": further_member_amount,
            "reduced_amount": reduced_amount,
            "mid_year": mid_year,
            "due_days": due_days,
            "description": description,
            "minimum_invoice_amount": minimum_invoice_amount,
            "below_minimum": below_minimum,
        }
    )
    if ContributionScheme.objects.filter(year=year).exists():
        raise FinanceError(_("Er is al een regeling voor %(year)s.") % {"year": year})
    try:
        with transaction.atomic():
            return ContributionScheme.objects.create(year=year, **values)
    except IntegrityError:
        raise FinanceError(_("Er is al een regeling voor %(year)s.") % {"year": year}) from None


@transaction.atomic
def scheme_update(
    *, scheme: ContributionScheme, by: User | None = None, **changes: Any
) -> ContributionScheme:
    """Change a scheme that no dues run has used yet. The year itself is not changed."""
    unknown = set(changes) - set(SCHEME_FIELDS)
    if unknown:
        raise TypeError(f"scheme_update got unknown fields: {sorted(unknown)}")
    locked = ContributionScheme.objects.select_for_update().get(pk=scheme.pk)
    if locked.locked_at is not None:
        raise FinanceError(
            _(
                "De regeling voor %(year)s is al gebruikt voor de contributierun en kan niet meer "
                "worden gewijzigd. Verbeter een factuur met een creditnota."
            )
            % {"year": locked.year}
        )
    values = _clean_scheme_values(changes)
    for name, value in values.items():
        setattr(locked, name, value)
    locked.save()
    return locked


@transaction.atomic
def member_rate_set(
    *, member: Member, rate: str, reason: str = "", by: User | None = None
) -> MemberRate:
    """Put a member on the standard, reduced or free rate. Reduced and free need a reason."""
    if rate not in MemberRate.Rate.values:
        raise FinanceError(_("Kies een tarief."))
    reason = reason.strip()
    if rate != MemberRate.Rate.STANDARD and not reason:
        raise FinanceError(_("Geef een reden voor het verlaagde of gratis tarief."))
    member_rate, _created = MemberRate.objects.update_or_create(
        member=member, defaults={"rate": rate, "reason": reason[:200]}
    )
    return member_rate
