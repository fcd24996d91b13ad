"""Whole numbers read from people: a query string, a search box, a form field, a file.

`str.isdigit()` is true for '²' and '٣', and `int()` reads '٣' as 3 but fails on '²', so
checking with the one and converting with the other turns a curious visitor into a 500.
Everything that turns typed text into a number goes through `parse_int`: plain ASCII digits,
within what PostgreSQL stores, or nothing.
"""

from django import forms
from django.core.exceptions import ValidationError

BIGINT_MAX = 2**63 - 1
BIGINT_MIN = -(2**63)
# PostgreSQL's integer: what an IntegerField or PositiveIntegerField column holds.
INTEGER_MAX = 2**31 - 1


def is_ascii_digits(text: str) -> bool:
    """'0123' yes; '', '-1', '²', '٣' and the full-width '３' no."""
    return text.isascii() and text.isdigit()


def parse_int(value: object, *, minimum: int = BIGINT_MIN, maximum: int = BIGINT_MAX) -> int | None:
    """The whole number `value` spells in ASCII digits (an optional leading '-'), within the
    bounds; None for anything else, including '+1', '1e3', '1.0' and '1_000'."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    digits = text.removeprefix("-")
    if not is_ascii_digits(digits):
        return None
    # Longer than any bound: not worth converting (int() refuses past 4,300 digits anyway).
    if len(digits.lstrip("0")) > len(str(max(abs(minimum), abs(maximum)))):
        return None
    number = int(text)
    return number if minimum <= number <= maximum else None


def parse_id(value: object) -> int | None:
    """A primary key from a query string or a form: 1 up to PostgreSQL's bigint, else None."""
    return parse_int(value, minimum=1)


class WholeNumberField(forms.IntegerField):
    """Django's IntegerField, reading only ASCII digits, at most PostgreSQL's integer unless the
    form says otherwise; anything else is the field's 'invalid' error."""

    def __init__(self, *, max_value: int | None = INTEGER_MAX, **kwargs):
        super().__init__(max_value=max_value, **kwargs)

    def to_python(self, value):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if value in self.empty_values or not str(value).strip():
            return None
        number = parse_int(str(value))
        if number is None:
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return number
