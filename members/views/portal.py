"""The member's own pages: their data, their household, their housemates, their data as a file.

"Download my data" is assembled here, not in the top layer, because it needs no app above
members: it walks the registry in coop.core.personal_data, to which each app adds its own part.
"""

import json

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from coop.accounts.access import role_required
from coop.accounts.roles import Role
from coop.core import personal_data
from coop.core.form_tokens import once_per_form

from ..models import ConsentText, Member
from ..portal_forms import HousemateForm, MoveForm, NoticeForm, OwnDataForm
from ..selectors import (
    household_housemates,
    member_consent_states,
    member_for_user,
    member_notices,
    own_member,
)
from ..services import (
    MembershipError,
    consent_record,
    consent_texts_current,
    consent_withdraw,
    household_change_address,
    household_member_add,
    household_member_remove,
    household_member_update,
    member_update,
    membership_notice_default_end,
    membership_notice_give,
    membership_notice_withdraw,
)


def _own(request) -> Member:
    member = own_member(request.user)
    if member is None:
        raise Http404
    return member


def _housemate(request, pk: int) -> tuple[Member, Member]:
    """(own member, housemate): a current member of the user's own household, else 404."""
    own = _own(request)
    housemate = member_for_user(request.user, pk)
    # member_for_user lets register roles see everyone; these pages are about one's own home.
    if housemate.household_id != own.household_id or housemate.pk == own.pk:
        raise Http404
    return own, housemate


@role_required(Role.MEMBER)
def portal(request):
    member = _own(request)
    notices = member_notices(member)
    return render(
        request,
        "members/portal.html",
        {
            "member": member,
            "household": member.household,
            "housemates": household_housemates(member),
            "consent_states": member_consent_states(member),
            "pending_notice": next((n for n in notices if n.is_pending), None),
            "export_sections": personal_data.sections(),
        },
    )


# Consents: given and taken back by the member -------------------------------------------------


@role_required(Role.MEMBER)
@once_per_form
@require_POST
def consent_give(request, pk: int):
    """Agree (again) to the newest version of a text; a new row, the old ones stay as history."""
    member = _own(request)
    text = next((t for t in consent_texts_current() if t.pk == pk), None)
    if text is None:
        if ConsentText.objects.filter(pk=pk).exists():
            messages.warning(
                request,
                _(
                    "Er is een nieuwere versie van deze tekst. "
                    "Lees die eerst en geef dan uw toestemming."
                ),
            )
            return redirect("members:portal")
        raise Http404
    consent = consent_record(member=member, consent_text=text, by=request.user)
    messages.success(
        request,
        _("Dank u wel. Uw toestemming voor '%(title)s' is vastgelegd op %(date)s.")
        % {"title": text.title, "date": formats.date_format(consent.given_at, "j F Y")},
    )
    return redirect("members:portal")


@role_required(Role.MEMBER)
@require_POST
def consent_revoke(request, key: str):
    """Take a consent back. Twice is harmless; a required one is refused with the way out."""
    member = _own(request)
    text = ConsentText.objects.filter(key=key).order_by("-version").first()
    if text is None:
        raise Http404
    try:
        withdrawn = consent_withdraw(member=member, key=key)
    except MembershipError as exc:
        messages.error(request, str(exc))
        return redirect("members:portal")
    if withdrawn:
        messages.success(
            request,
            _("U heeft uw toestemming voor '%(title)s' ingetrokken op %(date)s.")
            % {"title": text.title, "date": formats.date_format(timezone.localdate(), "j F Y")},
        )
    else:
        messages.info(
            request, _("U had voor '%(title)s' geen toestemming gegeven.") % {"title": text.title}
        )
    return redirect("members:portal")


# Ending the membership ----------------------------------------------------------------------


@role_required(Role.MEMBER)
@once_per_form
@require_http_methods(["GET", "POST"])
def notice_give(request):
    """Give notice online. The coordinator confirms it; until then the member may take it back."""
    member = _own(request)
    notices = member_notices(member)
    pending = next((n for n in notices if n.is_pending), None)
    form = None
    if member.is_current and pending is None:
        form = NoticeForm(request.POST or None, year_end=membership_notice_default_end())
        if request.method == "POST" and form.is_valid():
            try:
                notice = membership_notice_give(
                    member=member,
                    end_on=form.chosen_end(),
                    reason=form.cleaned_data["reason"],
                    by=request.user,
                )
            except MembershipError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(
                    request,
                    _(
                        "Uw opzegging is ontvangen: per %(date)s. De coördinator bevestigt "
                        "haar. Tot die tijd kunt u de opzegging nog intrekken."
                    )
                    % {"date": formats.date_format(notice.end_on, "j F Y")},
                )
                return redirect("members:notice_give")
    elif request.method == "POST":
        messages.info(request, _("Er is niets veranderd."))
        return redirect("members:notice_give")
    return render(
        request,
        "members/notice_give.html",
        {"member": member, "form": form, "pending": pending, "notices": notices},
    )


@role_required(Role.MEMBER)
@require_POST
def notice_withdraw(request):
    member = _own(request)
    if membership_notice_withdraw(member=member, by=request.user) is not None:
        messages.success(request, _("U heeft uw opzegging ingetrokken. U blijft lid."))
    else:
        messages.info(request, _("Er was geen opzegging meer om in te trekken."))
    return redirect("members:notice_give")


@role_required(Role.MEMBER)
@require_http_methods(["GET", "POST"])
def portal_edit(request):
    member = _own(request)
    form = OwnDataForm(request.POST or None, initial=OwnDataForm.initial_for(member))
    if request.method == "POST" and form.is_valid():
        try:
            member_update(
                member=member,
                person=form.person(
                    email=member.email, contact_preference=form.cleaned_data["contact_preference"]
                ),
                by=request.user,
            )
        except MembershipError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Uw gegevens zijn opgeslagen."))
            return redirect("members:portal")
    return render(request, "members/portal_edit.html", {"member": member, "form": form})


@role_required(Role.MEMBER)
@require_http_methods(["GET", "POST"])
def portal_address(request):
    member = _own(request)
    household = member.household
    initial = {**MoveForm.initial_for(household), "changed_on": timezone.localdate()}
    form = MoveForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            household = household_change_address(
                household=household,
                address=form.address(),
                changed_on=form.cleaned_data["changed_on"],
                by=request.user,
            )
        except MembershipError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Uw nieuwe adres is opgeslagen."))
            if household.buurt is None:
                messages.warning(
                    request,
                    _(
                        "Dit adres ligt buiten de buurten van de coöperatie. "
                        "De coördinator neemt contact met u op."
                    ),
                )
            return redirect("members:portal")
    housemates = [m for m in household_housemates(member) if m.is_current]
    return render(
        request,
        "members/portal_address.html",
        {"member": member, "household": household, "housemates": housemates, "form": form},
    )


@role_required(Role.MEMBER)
@once_per_form
@require_http_methods(["GET", "POST"])
def housemate_add(request):
    member = _own(request)
    form = HousemateForm(request.POST or None, initial={"language": member.language})
    if request.method == "POST" and form.is_valid():
        try:
            housemate = household_member_add(
                household=member.household, person=form.housemate(), by=request.user
            )
        except MembershipError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request,
                _("%(name)s is aangemeld als lid. De coördinator maakt het lidmaatschap actief.")
                % {"name": housemate.full_name},
            )
            return redirect("members:portal")
    return render(
        request, "members/housemate_form.html", {"member": member, "form": form, "housemate": None}
    )


@role_required(Role.MEMBER)
@require_http_methods(["GET", "POST"])
def housemate_edit(request, pk: int):
    member, housemate = _housemate(request, pk)
    if not housemate.is_current:
        messages.info(
            request,
            _("Het lidmaatschap van %(name)s is beëindigd.") % {"name": housemate.full_name},
        )
        return redirect("members:portal")
    form = HousemateForm(
        request.POST or None,
        initial=HousemateForm.initial_for(housemate),
        email_locked=housemate.user_id is not None,
    )
    if request.method == "POST" and form.is_valid():
        try:
            household_member_update(member=housemate, person=form.housemate(), by=request.user)
        except MembershipError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request,
                _("De gegevens van %(name)s zijn opgeslagen.") % {"name": housemate.full_name},
            )
            return redirect("members:portal")
    return render(
        request,
        "members/housemate_form.html",
        {"member": member, "form": form, "housemate": housemate},
    )


@role_required(Role.MEMBER)
@require_http_methods(["GET", "POST"])
def housemate_remove(request, pk: int):
    member, housemate = _housemate(request, pk)
    if not housemate.is_current:
        messages.info(
            request,
            _("Het lidmaatschap van %(name)s is al beëindigd.") % {"name": housemate.full_name},
        )
        return redirect("members:portal")
    if request.method == "POST":
        try:
            household_member_remove(member=housemate, by=request.user)
        except MembershipError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(
                request,
                _("%(name)s is afgemeld. Het lidmaatschap is beëindigd.")
                % {"name": housemate.full_name},
            )
        return redirect("members:portal")
    return render(
        request, "members/housemate_confirm_remove.html", {"member": member, "housemate": housemate}
    )


@role_required(Role.MEMBER)
@require_http_methods(["GET"])
@never_cache
def data_export(request):
    member = _own(request)
    # Plain json on purpose: a section that hands back a date or a Decimal breaks the contract.
    payload = json.dumps(personal_data.collect(member), ensure_ascii=False, indent=2)
    response = HttpResponse(payload, content_type="application/json; charset=utf-8")
    filename = f"mijn-gegevens-lid-{member.number}-{timezone.localdate():%Y-%m-%d}.json"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
