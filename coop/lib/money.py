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
