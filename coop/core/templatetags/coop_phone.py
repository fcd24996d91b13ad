"""`{{ phone|tel_uri }}`: a phone number as typed, made into a link a phone can dial.

The page shows the number as it was typed ('0555-120936'); the link needs digits, and the
international form works from any phone, also one with a foreign SIM: a Dutch number of ten
digits loses its 0 for +31, one written with 00 or + keeps its country code. Short and service
numbers (112, 0800-1234) are dialled as they are.
"""

from django import template

from coop.lib.phone import phone_digits

register = template.Library()

COUNTRY_CODE = "31"
NATIONAL_LENGTH = 10


def tel_uri(value: str) -> str:
    """'0555-120936' -> 'tel:+31555120936'; '' when there is nothing to dial."""
    digits = phone_digits(value)
    if not digits:
        return ""
    if digits.startswith("00"):
        return f"tel:+{digits[2:]}"
    if digits.startswith("0") and len(digits) == NATIONAL_LENGTH:
        return f"tel:+{COUNTRY_CODE}{digits[1:]}"
    return f"tel:{digits}"


register.filter("tel_uri", tel_uri)
