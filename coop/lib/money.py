"""Money is Decimal, in euros, rounded half up to cents in one place."""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def round_money(value: Decimal) -> Decimal:
    if isinstance(value, float):
        raise TypeError("Money must not be a float; use Decimal.")
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def parse_money(text: str) -> Decimal:
    """'1.234,56', '1234.56', '€ 7,50' -> Decimal; raises ValueError for anything else."""
    cleaned = (text or "").replace("€", "").replace("EUR", "").strip().replace(" ", "")
    if "," in cleaned:
        cleaned = cleaned.replace(".", "").replace(",", ".")
    try:
        return round_money(Decimal(cleaned))
    except InvalidOperation:
        raise ValueError(f"{text!r} is not an amount") from None


def format_money(value: Decimal, language: str = "nl") -> str:
    """'€ 1.234,56' in Dutch, '€1,234.56' in English."""
    if isinstance(value, float):
        raise TypeError("Money must not be a float; use Decimal.")
    value = round_money(value)
    sign = "-" if value < 0 else ""
    whole, cents = f"{abs(value):,.2f}".split(".")
    if language.startswith("nl"):
        return f"{sign}€ {whole.replace(',', '.')},{cents}"
    return f"{sign}€{whole}.{cents}"
