from decimal import Decimal

from django import template
from django.utils import translation

from coop.lib.money import format_money

register = template.Library()


@register.filter
def money(value):
    """{{ amount|money }} -> '€ 1.234,56'. Refuses floats: money is Decimal everywhere."""
    if value is None or value == "":
        return ""
    if isinstance(value, float):
        raise TypeError("money filter got a float; amounts must be Decimal")
    return format_money(Decimal(value), translation.get_language() or "nl")
