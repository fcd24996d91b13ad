"""Paper: welcome letters, member lists for a door-to-door round, letters waiting to be printed."""

from django import forms
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from coop.accounts.access import role_required
from coop.accounts.roles import Role
from coop.core.services import outbox_mark_printed
from coop.lib.numbers import WholeNumberField, parse_id

from .. import documents as paper
from ..models import Buurt
from ..selectors import member_for_user


def _pdf_response(pdf: bytes, filename: str, *, download: bool = False) -> HttpResponse:
    response = HttpResponse(pdf, content_type="application/pdf")
    disposition = "attachment" if download else "inline"
    response["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    return response


@role_required(Role.COORDINATOR)
@require_GET
@never_cache
def member_welcome_letter(request, pk: int):
    member = member_for_user(request.user, pk)
    filename = f"welkomstbrief-{member.number}.pdf"
    return _pdf_response(paper.welcome_letter_pdf(member=member), filename)


@role_required(Role.COORDINATOR)
@require_GET
@never_cache
def buurt_member_list_pdf(request, pk: int):
    buurt = get_object_or_404(Buurt, pk=pk)
    filename = f"ledenlijst-{buurt.pk}-{timezone.localdate().isoformat()}.pdf"
    return _pdf_response(paper.buurt_member_list_pdf(buurt=buurt), filename)


class LettersPrintedForm(forms.Form):
    """Marks printed the pending letters up to the newest one the coordinator saw."""

    up_to = WholeNumberField(min_value=1, max_value=None, widget=forms.HiddenInput)


@role_required(Role.COORDINATOR)
@require_http_methods(["GET", "POST"])
def letter_list(request):
    if request.method == "POST":
        form = LettersPrintedForm(request.POST)
        if form.is_valid():
            letters = paper.letters_for_print(up_to_id=form.cleaned_data["up_to"])
            count = outbox_mark_printed(message_ids=[letter.pk for letter in letters])
            text = ngettext(
                "%(count)d brief staat nu op geprint.",
                "%(count)d brieven staan nu op geprint.",
                count,
            )
            messages.success(request, text % {"count": count})
        else:
            messages.error(
                request, _("Dat ging niet goed. Laad de pagina opnieuw en probeer het nog eens.")
            )
        return redirect("members:letter_list")

    pending = list(paper.letters_pending())
    up_to = max((letter.pk for letter in pending), default=None)
    return render(
        request,
        "members/letter_list.html",
        {
            "pending": pending,
            "up_to": up_to,
            "printed": list(paper.letters_recently_printed()[:100]),
            "recent_days": paper.RECENTLY_PRINTED_DAYS,
        },
    )


@role_required(Role.COORDINATOR)
@require_GET
@never_cache
def letter_print(request):
    """One PDF with a page per letter: `?tot=<id>` the pending ones, `?id=<id>` a reprint."""
    ids = [parse_id(value) for value in request.GET.getlist("id")]
    tot = request.GET.get("tot", "")
    up_to = parse_id(tot) if tot else None
    if None in ids or (tot and up_to is None):
        letters = []
    else:
        letters = paper.letters_for_print(ids=ids or None, up_to_id=up_to)
    if not letters:
        messages.info(request, _("Er zijn geen brieven om af te drukken."))
        return redirect("members:letter_list")
    filename = f"brieven-{timezone.localdate().isoformat()}.pdf"
    return _pdf_response(paper.letters_pdf(letters=letters), filename, download=True)
