"""PDF documents from HTML templates with WeasyPrint.

The fetcher serves only our own static files: a template cannot make the renderer reach the
network or read arbitrary files.
"""

import mimetypes
from typing import Any

from django.contrib.staticfiles import finders
from django.template.loader import render_to_string
from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

_BASE_URL = "https://static.invalid/"
_STATIC_PREFIX = _BASE_URL + "static/"


class StaticOnlyFetcher(URLFetcher):
    def fetch(self, url, headers=None):
        if url.startswith("data:"):
            return super().fetch(url, headers)
        if not url.startswith(_STATIC_PREFIX):
            raise ValueError(f"PDF resources must come from our static files, not {url}")
        relative = url[len(_STATIC_PREFIX) :].split("?")[0]
        path = finders.find(relative)
        if not path:
            raise ValueError(f"No static file {relative}")
        with open(path, "rb") as handle:
            body = handle.read()
        # WeasyPrint decides by the content type whether a file is a stylesheet, an image, a font.
        content_type = mimetypes.guess_type(path)[0] or "application/octet-stream"
        return URLFetcherResponse(url, body=body, headers={"Content-Type": content_type})


def render_pdf(template: str, context: dict[str, Any]) -> bytes:
    html = render_to_string(template, context)
    return HTML(string=html, base_url=_BASE_URL, url_fetcher=StaticOnlyFetcher()).write_pdf()
