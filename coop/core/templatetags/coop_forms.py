from django import template
from django.utils.html import format_html

from coop.core.form_tokens import FORM_TOKEN_FIELD, form_token_new

register = template.Library()


@register.simple_tag(takes_context=True)
def form_token(context) -> str:
    """`{% form_token %}` inside a form whose view is `once_per_form`: a fresh one-time token."""
    user = getattr(context.get("request"), "user", None)
    user_id = user.pk if user is not None and user.is_authenticated else None
    return format_html(
        '<input type="hidden" name="{}" value="{}">',
        FORM_TOKEN_FIELD,
        form_token_new(user_id=user_id),
    )
