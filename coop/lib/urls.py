"""The site's own address, for every link that leaves the site: e-mails, PDFs, letters.

One rule: links use SITE_URL (the address members type). Where a request exists and SITE_URL was
not configured (it is still the development default), the request's own scheme and host are used
instead, so a local install behind another name still links to itself. Production sets SITE_URL;
`check --deploy` fails without it (finance.E006).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.urls import reverse

SITE_URL_DEFAULT = "http://127.0.0.1:8000"
_LOCAL_HOSTS = {"localhost", "127.0.0.1", "0.0.0.0", "::1", ""}  # noqa: S104


def site_url_configured() -> bool:
    """Whether SITE_URL was set to something other than the development default."""
    return bool(settings.SITE_URL) and settings.SITE_URL.rstrip("/") != SITE_URL_DEFAULT


def is_local_url(url: str) -> bool:
    """Whether `url` points at this machine (or nowhere): no one else can follow such a link."""
    host = (urlsplit(url).hostname or "").lower()
    return host in _LOCAL_HOSTS or host.endswith(".localhost")


def site_url(path: str = "", *, request: Any = None) -> str:
    """`path` on the site's address: "https://leden.example.org" + path.

    With a request and no SITE_URL configured, the request's scheme and host.
    """
    if request is not None and not site_url_configured():
        base = request.build_absolute_uri("/").rstrip("/")
    else:
        base = (settings.SITE_URL or SITE_URL_DEFAULT).rstrip("/")
    if path and not path.startswith("/"):
        path = "/" + path
    return base + path


def absolute_url(view_name: str, *args: Any, request: Any = None) -> str:
    """The full address of a named view: `absolute_url("finance:my_invoices")`."""
    return site_url(reverse(view_name, args=args or None), request=request)


def site_host() -> str:
    """The site's host name, for Message-IDs and the like; "wijkcoop.localhost" without one."""
    return urlsplit(site_url()).hostname or "wijkcoop.localhost"
