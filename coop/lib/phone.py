"""Telephone numbers as people write them, reduced to digits for searching.

`phone_digits` gives the national form, digits only: '+31 (0)6-1234 5678', '0031 6 12345678'
and '06 12 34 56 78' all become '0612345678', so a search on part of a number finds it however
it was typed. A number from abroad keeps its 00 and country code.
"""

import re

_LEADING_PLUS = re.compile(r"^\s*\+")
_NOT_DIGIT = re.compile(r"[^0-9]")


def phone_digits(value: str) -> str:
    """The digits of a phone number in national form ('+31 6 1234' -> '061234')."""
    digits = _NOT_DIGIT.sub("", _LEADING_PLUS.sub("00", value or "", count=1))
    if digits.startswith("0031"):
        return "0" + digits[4:].removeprefix("0")
    return digits
