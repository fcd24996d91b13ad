"""{% notices_pending_count as count %}: for the coordinator's dashboard, which lives in the top
layer and includes members' line about waiting notices without its view knowing of them."""

from django import template

from ..selectors import notices_pending_count as _count

register = template.Library()


@register.simple_tag
def notices_pending_count() -> int:
    return _count()
