"""Money is Decimal, in euros, rounded half up to cents in one place."""

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
# What parse_money hands to Decimal: ASCII digits and one point. Decimal() itself also reads
# 'NaN', '1e3', '1_000' and other scripts' digits ('٣'), and a NaN cannot even be compared.
_AMOUNT = re.compile(r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)", re.ASCII)


def round_money(value: Decimal) -> Decimal:
    if isinstance(value, float):
        raise TypeError("Money must not be a float; use Decimal.")
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def parse_money(text: str) -> Decimal:
    """'1.234,56', '1234.56', '€ 7,50' -> Decimal; raises ValueError for anything else."""
    cleaned = (text or "").replace("€", "").replace("EUR", "").strip().replace(" ", "")
    if "," in cleaned:
        cleaned = cleaned.replace(".", "").replace(",", ".")
    if not _AMOUNT.fullmatch(cleaned):
        raise ValueError(f"{text!r} is not an amount")
    try:
        return round_money(Decimal(cleaned))
    except InvalidOperation:  # more digits than Decimal's 28
        raise ValueError(f"{text!r} is not an amount") from None


class AmountTooPrecise(ValueError):
    """More than two decimals typed: '7,555' is no amount in cents."""


class AmountAmbiguous(ValueError):
    """'7.555' or '1.234': a point before three digits, thousands or decimals. `whole` is the
    amount read as thousands ('7555')."""

    def __init__(self, text: str, whole: str):
        self.whole = whole
        super().__init__(f"{text!r} is ambiguous")


# An amount as a person types it in a form: 25 · 7,50 · 17.50 · 1.234,56 · 1.234.567
_TYPED = re.compile(
    r"""(?P<sign>[-+]?)(?:
        (?P<plain>[0-9]+)
      | (?P<comma_whole>[0-9]*),(?P<comma_cents>[0-9]+)
      | (?P<point_whole>[0-9]+)\.(?P<point_cents>[0-9]+)
      | (?P<groups>[0-9]{1,3}(?:\.[0-9]{3})+)(?:,(?P<group_cents>[0-9]+))?
    )""",
    re.ASCII | re.VERBOSE,
)


def parse_money_typed(text: str) -> Decimal:
    """An amount typed in a form, read strictly; for bank files use `parse_money`.

    '7,50', '7.50', '€ 1.234,56', '25' are read; '1e3' and anything else raise ValueError;
    more than two decimals ('7,555', '7.5555') raise AmountTooPrecise, never rounded; a point
    before exactly three digits without a comma ('7.555', '1.234': thousands or decimals?)
    raises AmountAmbiguous. Several point groups ('1.234.567') are thousands."""
    cleaned = (text or "").replace("€", "").replace("EUR", "").strip().replace(" ", "")
    match = _TYPED.fullmatch(cleaned)
    if match is None:
        raise ValueError(f"{text!r} is not an amount")
    parts = match.groupdict()
    if parts["plain"] is not None:
        whole, cents = parts["plain"], ""
    elif parts["comma_cents"] is not None:
        whole, cents = parts["comma_whole"] or "0", parts["comma_cents"]
    elif parts["point_cents"] is not None:
        whole, cents = parts["point_whole"], parts["point_cents"]
        if len(cents) == 3 and len(whole) <= 3 and not whole.startswith("0"):
            raise AmountAmbiguous(text, whole + cents)
    else:
        whole, cents = parts["groups"].replace(".", ""), parts["group_cents"] or ""
    if len(cents) > 2:
        raise AmountTooPrecise(f"{text!r} has more than two decimals")
    try:
        return round_money(Decimal(f"{parts['sign']}{whole}.{cents or '0'}"))
    except InvalidOperation:  # more digits than Decimal's 28
        raise ValueError(f"{text!r} is not an amount") from None


def format_money(value: Decimal, language: str | None = None) -> str:
    """'€ 1.234,56' in Dutch, '€1,234.56' in English; by default in the active language."""
    if language is None:
        from django.utils.translation import get_language

        language = get_language() or "nl"
    if isinstance(value, float):
        raise TypeError("Money must not be a float; use Decimal.")
    value = round_money(value)
    sign = "-" if value < 0 else ""
    whole, cents = f"{abs(value):,.2f}".split(".")
    if language.startswith("nl"):
        return f"{sign}€ {whole.replace(',', '.')},{cents}"
    return f"{sign}€{whole}.{cents}"
