"""Error pages (400, 403, 404, 500 and a failed CSRF check) in the site's own layout.

Each one says in plain words what happened, how to go on and whom to call. Something may be
broken when one is shown (the database down, a template failing), so each first tries the full
layout and otherwise answers a small page that needs neither the database nor a template.
"""

import logging

from django.core.exceptions import DisallowedHost
from django.http import HttpResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from .context_processors import last_seen

logger = logging.getLogger(__name__)


def _back_url(request) -> str:
    """The page the visitor came from, when it is one of ours: the way back without JavaScript."""
    referer = request.META.get("HTTP_REFERER", "")
    try:
        host = request.get_host()
    except DisallowedHost:
        return ""
    if not referer or not url_has_allowed_host_and_scheme(
        referer, allowed_hosts={host}, require_https=request.is_secure()
    ):
        return ""
    return "" if referer == request.build_absolute_uri() else referer


def _minimal_page(status: int, title: str, text: str) -> HttpResponse:
    """The error page without layout: no database, no template, only our own stylesheet."""
    try:
        stylesheet = format_html('<link rel="stylesheet" href="{}">', static("css/coop.css"))
    except Exception:  # e.g. no manifest: the page works without the stylesheet
        stylesheet = ""
    try:
        home = reverse("dashboard:home")
    except Exception:
        home = "/"
    name = last_seen.get("name") or "Wijkcoop"
    phone = last_seen.get("phone", "")
    call = (
        format_html(
            '<p>{} <a href="tel:{}">{}</a></p>',
            _("Hulp nodig? Bel ons:"),
            phone.replace(" ", ""),
            phone,
        )
        if phone
        else ""
    )
    html = format_html(
        '<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>{title} · {name}</title>{stylesheet}</head>"
        '<body><header class="site-header"><div class="container site-header__inner">'
        '<span class="brand">{name}</span></div></header>'
        '<main id="main" class="container"><div class="narrow">'
        "<h1>{title}</h1><p>{text}</p>{call}"
        '<p><a class="button" href="{home}">{home_text}</a></p>'
        "</div></main></body></html>",
        lang=get_language() or "nl",
        title=title,
        name=name,
        stylesheet=stylesheet,
        text=text,
        call=call,
        home=home,
        home_text=_("Naar de startpagina"),
    )
    return HttpResponse(html, status=status)


def _error_page(
    request, template: str, status: int, title: str, text: str, context: dict | None = None
) -> HttpResponse:
    try:
        return render(
            request,
            template,
            {"back_url": _back_url(request), "title": title, "text": text, **(context or {})},
            status=status,
        )
    except Exception:  # an error page must always answer
        logger.warning("The %s page could not be shown in full", status, exc_info=True)
        return _minimal_page(status, title, text)


def bad_request(request, exception=None):
    return _error_page(
        request,
        "400.html",
        400,
        _("Dat begrijpen wij niet"),
        _("Uw browser stuurde iets wat de website niet kan lezen. Probeer het opnieuw."),
    )


def permission_denied(request, exception=None):
    return _error_page(
        request,
        "403.html",
        403,
        _("Deze pagina is niet voor u"),
        _("U heeft geen toegang tot deze pagina. Denkt u dat dit niet klopt? Bel ons even."),
    )


def page_not_found(request, exception=None):
    return _error_page(
        request,
        "404.html",
        404,
        _("Deze pagina bestaat niet"),
        _("Misschien is de link oud, of zit er een typefout in het adres."),
    )


def server_error(request):
    return _error_page(
        request,
        "500.html",
        500,
        _("Er ging iets mis"),
        _(
            "Sorry, hier ging bij ons iets fout. Het ligt niet aan u. "
            "Probeer het over een paar minuten opnieuw."
        ),
    )


def csrf_failure(request, reason: str = ""):
    """CSRF_FAILURE_VIEW: most often a form that was open too long, or cookies switched off."""
    return _error_page(
        request,
        "403_csrf.html",
        403,
        _("Het formulier is verlopen"),
        _(
            "Wij konden uw formulier niet veilig ontvangen. Dat gebeurt als de pagina lang open "
            "stond, of als uw browser geen cookies toestaat. Ga terug, laad de pagina opnieuw en "
            "probeer het nog eens."
        ),
    )


def too_many_requests(request, exception=None):
    """allauth's rate limits (logins, codes, sign-ups) answer with this page (handler429)."""
    return _error_page(
        request,
        "429.html",
        429,
        _("Even wachten"),
        _(
            "U heeft het te vaak achter elkaar geprobeerd. Wacht een paar minuten en probeer het "
            "dan opnieuw. Wachtwoord vergeten? Vraag dan een nieuw wachtwoord aan."
        ),
    )
