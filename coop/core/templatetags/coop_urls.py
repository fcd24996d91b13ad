"""Links for e-mails and paper, where there is no request to build an absolute URL from."""

from django import template

from coop.lib import urls

register = template.Library()


@register.simple_tag
def absolute_url(view_name: str, *args) -> str:
    """`{% absolute_url "account_login" %}` -> "https://example.org/accounts/login/" (SITE_URL)."""
    return urls.absolute_url(view_name, *args)


@register.simple_tag
def site_host() -> str:
    """SITE_URL without the scheme, as people type it: "wijkcoop.nl"."""
    return urls.site_url().split("://", 1)[-1]
