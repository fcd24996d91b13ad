"""A cap on the size of every request body, applied before anything reads it.

Django limits form fields (DATA_UPLOAD_MAX_MEMORY_SIZE) but not uploaded files, and gunicorn
limits nothing: without this a 2 GB POST is read to disk before any view can refuse it. The
proxy in front should refuse such a request even earlier (nginx `client_max_body_size`).

A body without Content-Length (chunked) is never read under WSGI: Django reads a body only up
to the length the request declares.
"""

from django.conf import settings
from django.http import HttpResponse
from django.utils import translation
from django.utils.html import escape
from django.utils.translation import gettext as _

from .numbers import BIGINT_MAX, is_ascii_digits, parse_int


def _declared_length(request) -> int:
    """The length the request declares; a number of absurd size counts as too large."""
    value = request.META.get("CONTENT_LENGTH") or "0"
    length = parse_int(value, minimum=0)
    if length is None and is_ascii_digits(value.strip()):
        return BIGINT_MAX
    return length or 0


def _too_large(request, limit: int) -> HttpResponse:
    with translation.override(translation.get_language_from_request(request)):
        title = _("Dit bestand is te groot")
        text = _(
            "U kunt hier hoogstens %(mb)s MB tegelijk versturen. Ga terug en kies een kleiner "
            "bestand."
        ) % {"mb": limit // (1024 * 1024)}
        language = translation.get_language()
    page = (
        f'<!doctype html><html lang="{escape(language)}"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title></head>"
        f"<body><h1>{escape(title)}</h1><p>{escape(text)}</p></body></html>"
    )
    return HttpResponse(page, status=413)


class RequestSizeLimitMiddleware:
    """Answer 413 to a request that declares a body above COOP_MAX_REQUEST_BYTES."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        limit = settings.COOP_MAX_REQUEST_BYTES
        if _declared_length(request) > limit:
            return _too_large(request, limit)
        return self.get_response(request)
