"""The member's own pages: their data, their household, their housemates, their data as a file.

"Download my data" is assembled here, not in the top layer, because it needs no app above
members: it walks the registry in coop.core.personal_data, to which each app adds its own part.
"""

import json

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from coop.accounts.access import role_required
from coop.accounts.roles import Role
from coop.core import personal_data
from coop.core.form_tokens import once_per_form

from ..models import Member
from ..portal_forms import HousemateForm, MoveForm, OwnDataForm
from ..selectors import (
    household_housemates,
    member_consents,
    member_for_user,
    own_member,
)
from ..services import (
    MembershipError,
    household_change_address,
    household_member_add,
    household_member_remove,
    household_member_update,
    member_update,
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
    return render(
        request,
        "members/portal.html",
        {
            "member": member,
            "household": member.household,
            "housemates": household_housemates(member),
            "consents": member_consents(member),
            "export_sections": personal_data.sections(),
        },
    )


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
