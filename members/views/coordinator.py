"""The coordinator's pages: the member register, one member, one household, the buurten."""

import datetime as dt
import re
from html import escape as escape_text
from types import SimpleNamespace
from typing import NamedTuple

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import IntegrityError, transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import dateformat
from django.utils.formats import get_format
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from coop.accounts.access import role_required
from coop.accounts.roles import Role
from coop.core.form_tokens import once_per_form
from coop.core.panels import household_panels
from coop.lib.numbers import parse_id

from .. import selectors, services
from ..exports import members_csv_response, members_xlsx_response
from ..filters import MemberFilterForm
from ..forms import (
    AddressForm,
    BuurtForm,
    HouseholdAddressForm,
    HouseholdPickForm,
    HouseholdSearchForm,
    MemberForm,
    MoveForm,
    NoticeConfirmForm,
    PaperConsentForm,
    PostcodeRangeForm,
    StatusChangeForm,
)
from ..models import Buurt, Consent, Household, Member, Move, PostcodeRange
from ..selectors import household_for_user, member_for_user
from ..services import (
    MembershipError,
    buurt_create,
    consent_record,
    consent_texts_current,
    household_change_address,
    member_change_status,
    member_enrol,
    member_move_out,
    member_update,
    membership_notice_confirm,
    membership_notice_withdraw,
    postcode_range_add,
    postcode_range_remove,
)

# The member list and its exports --------------------------------------------------------------

# The sortable column headers: (column, label, sort key, reverse sort key or None).
_MEMBER_LIST_SORTS = [
    ("number", _("Lidnummer"), "number", "-number"),
    ("name", _("Naam"), "name", "-name"),
    ("postcode", _("Postcode"), "postcode", None),
    ("joined", _("Lid sinds"), "joined", None),
]


def _query_string(params, **changes) -> str:
    """The current filters as a query string, with some values changed and the page dropped."""
    query = params.copy()
    query.pop("page", None)
    for key, value in changes.items():
        query[key] = value
    return query.urlencode()


def _filtered_members(request):
    form = MemberFilterForm(request.GET or None)
    return form, selectors.member_list(**form.filters())


def _url_pattern(name: str) -> str:
    """'/leden/{}/' for a URL that takes one pk: reversed once per page instead of per row."""
    slot = "9876543210"
    return reverse(name, args=[int(slot)]).replace(slot, "{}")


# What a row of the list shows, read as plain values: no model instances to build per row.
_MEMBER_ROW_FIELDS = (
    "pk",
    "number",
    "given_name",
    "tussenvoegsel",
    "family_name",
    "status",
    "joined_on",
    "email",
    "phone",
    "household_id",
    "household__street",
    "household__house_number",
    "household__house_number_addition",
    "household__postcode",
    "household__buurt__name",
)


# One row of the member table, filled in by _member_rows. Built in Python rather than in the
# template: the template engine spends about 90 µs a row on this markup, this a tenth of that.
_MEMBER_ROW_HTML = (
    '<tr><td class="number" data-label="{l_number}">{number}</td>'
    '<td class="member-table__name" data-label="{l_name}"><a href="{url}">{name}</a></td>'
    '<td data-label="{l_address}"><a href="{household_url}">{address}</a></td>'
    '<td class="nowrap" data-label="{l_postcode}">{postcode}</td>'
    '<td data-label="{l_buurt}">{buurt}</td>'
    '<td data-label="{l_status}"><span class="badge badge--{status}">{status_label}</span></td>'
    '<td class="nowrap" data-label="{l_joined}">{joined_on}</td>'
    '<td data-label="{l_contact}"><span class="member-contact">{contact}</span></td></tr>\n'
)
_NOT_DIALLED = re.compile(r"[^0-9+]")


def _contact_html(email: str, phone: str, none: str) -> str:
    """E-mail and phone as links (escaped here), or a muted 'none'. A long address wraps before
    its @ rather than somewhere in a word, and is always shown whole."""
    links = []
    if email:
        local, at, domain = email.rpartition("@")
        shown = f"{escape_text(local)}<wbr>@{escape_text(domain)}" if at else escape_text(email)
        links.append(f'<a href="mailto:{escape_text(email)}">{shown}</a>')
    if phone:
        dial = _NOT_DIALLED.sub("", phone)
        links.append(f'<a href="tel:{dial}">{escape_text(phone)}</a>')
    return "<br>".join(links) or f'<span class="muted">{escape_text(none)}</span>'


def _member_rows(values, labels: dict) -> SafeString:
    """The table rows as HTML, from `.values(*_MEMBER_ROW_FIELDS)`; every value is escaped here."""
    statuses = {value: str(label) for value, label in Member.Status.choices}
    outside = gettext("Buiten werkgebied")
    none = gettext("geen")
    member_url = _url_pattern("members:member_detail")
    household_url = _url_pattern("members:household_detail")
    date_pattern = get_format("SHORT_DATE_FORMAT")
    labels = {f"l_{key}": escape_text(str(label)) for key, label in labels.items()}
    # The models' own display rules, applied to plain values.
    full_name = Member.full_name.fget
    house_number_full = Household.house_number_full.fget
    rows = []
    for v in values:
        address = SimpleNamespace(
            house_number=v["household__house_number"],
            house_number_addition=v["household__house_number_addition"],
        )
        joined = v["joined_on"]
        cells = {
            "number": v["number"],
            "name": full_name(SimpleNamespace(**v)),
            "url": member_url.format(v["pk"]),
            "address": f"{v['household__street']} {house_number_full(address)}",
            "household_url": household_url.format(v["household_id"]),
            "postcode": v["household__postcode"],
            "buurt": v["household__buurt__name"] or outside,
            "status": v["status"],
            "status_label": statuses.get(v["status"], v["status"]),
            "joined_on": dateformat.format(joined, date_pattern) if joined else "–",
        }
        rows.append(
            _MEMBER_ROW_HTML.format(
                **labels,
                **{key: escape_text(str(value)) for key, value in cells.items()},
                contact=_contact_html(v["email"], v["phone"], none),
            )
        )
    return mark_safe("".join(rows))  # noqa: S308 - labels and cells escaped above, contact too


@role_required(Role.COORDINATOR, Role.TREASURER)
def member_list(request):
    """Search, filter, sort and page through the register; a fixed handful of queries."""
    form, members = _filtered_members(request)
    sort = form.filters()["sort"]
    # Count the members themselves (no joins), then read one page of plain values.
    paginator = Paginator(members, settings.COOP_MEMBER_LIST_PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    headers = {}
    for column, label, ascending, descending in _MEMBER_LIST_SORTS:
        aria_sort = ""
        target = ascending
        if sort == ascending:
            aria_sort = "ascending"
            target = descending or ascending
        elif sort == descending:
            aria_sort = "descending"
        headers[column] = {
            "label": str(label),
            "aria_sort": aria_sort,
            "query": _query_string(request.GET, sort=target),
        }
    return render(
        request,
        "members/member_list.html",
        {
            "form": form,
            "current": form.filters(),
            "selects": form.select_options(),
            "page": page,
            "rows": _member_rows(
                page.object_list.values(*_MEMBER_ROW_FIELDS),
                labels={
                    **{column: header["label"] for column, header in headers.items()},
                    "address": _("Adres"),
                    "buurt": _("Buurt"),
                    "status": _("Status"),
                    "contact": _("Contact"),
                },
            ),
            "paginator": paginator,
            "headers": headers,
            "filter_query": _query_string(request.GET),
            "is_filtered": any(v for k, v in request.GET.items() if k not in ("page", "sort")),
            "can_register": request.user.has_role(Role.COORDINATOR),
        },
    )


@role_required(Role.COORDINATOR, Role.TREASURER)
@never_cache
def member_export_csv(request):
    """The filtered list (all pages) as CSV, streamed so memory stays flat."""
    _form, members = _filtered_members(request)
    return members_csv_response(members)


@role_required(Role.COORDINATOR, Role.TREASURER)
@never_cache
def member_export_xlsx(request):
    """The filtered list (all pages) as an Excel workbook."""
    _form, members = _filtered_members(request)
    return members_xlsx_response(members)


# One member, one household, buurten ---------------------------------------------------------

OUTSIDE_AREA_WARNING = _(
    "Dit adres valt buiten het werkgebied: de postcode hoort bij geen enkele buurt. "
    "Klopt de postcode? Voeg hem dan zo nodig toe aan een buurt."
)


def _warn_if_outside_area(request, household: Household) -> None:
    if household.buurt_id is None:
        messages.warning(request, OUTSIDE_AREA_WARNING)


def _is_email_clash(error: IntegrityError) -> bool:
    """The database refused a second member with the same e-mail (two people saving at once)."""
    return "member_email_ci_unique" in str(error)


EMAIL_CLASH = _("Er is al een lid met dit e-mailadres. Laat het veld leeg of kies een ander adres.")


def _household_search(request, *, exclude: Household | None = None):
    """The address search of the register and move pages, read from the query string."""
    form = HouseholdSearchForm(request.GET if "zoek_postcode" in request.GET else None)
    results = None
    if form.is_bound and form.is_valid():
        results = selectors.household_search(
            postcode=form.cleaned_data["zoek_postcode"],
            house_number=form.cleaned_data["zoek_huisnummer"],
        )
        if exclude is not None:
            results = [household for household in results if household.pk != exclude.pk]
    return form, results


def _household_from_query(request, *, exclude: Household | None = None) -> Household | None:
    pk = parse_id(request.GET.get("huishouden", ""))
    if pk is None or (exclude is not None and pk == exclude.pk):
        return None
    return Household.objects.select_related("buurt").filter(pk=pk).first()


def _chosen_household(form: HouseholdPickForm) -> Household | None:
    if form.is_bound:
        return getattr(form, "cleaned_data", {}).get("household")
    return form.initial.get("household")


def _household_choice(
    request, household: Household | None, *, exclude: Household | None = None
) -> dict:
    """Registering and moving pick an address the same way (search, see who lives there, or type
    a new one), so a coordinator who learnt one page knows the other."""
    search_form, results = _household_search(request, exclude=exclude)
    residents = household.members.current().order_by("sort_name") if household is not None else []
    return {
        "has_errors": request.method == "POST",
        "household": household,
        "residents": list(residents),
        "search_form": search_form,
        "results": results,
    }


@role_required(Role.COORDINATOR)
@once_per_form
@require_http_methods(["GET", "POST"])
def member_create(request):
    """Register a resident, also one without e-mail, at a known address or a new one."""
    texts = consent_texts_current()
    if request.method == "POST":
        pick = HouseholdPickForm(request.POST)
        form = MemberForm(request.POST)
        address_form = AddressForm(request.POST, prefix="adres")
        consent_form = PaperConsentForm(request.POST, prefix="papier", texts=texts, required=False)
        forms_valid = [pick.is_valid(), form.is_valid(), consent_form.is_valid()]
        household = _chosen_household(pick)
        if household is None:
            forms_valid.append(address_form.is_valid())
        if all(forms_valid):
            try:
                member = member_enrol(
                    person=form.person(),
                    household=household,
                    address=None if household else address_form.address(),
                    paper_consents=list(consent_form.cleaned_data["consent_texts"]),
                    by=request.user,
                )
            except MembershipError as error:
                form.add_error(None, str(error))
            except IntegrityError as error:
                if not _is_email_clash(error):
                    raise
                form.add_error("email", EMAIL_CLASH)
            else:
                messages.success(
                    request,
                    gettext("%(name)s is ingeschreven met lidnummer %(number)s.")
                    % {"name": member.full_name, "number": member.number},
                )
                _warn_if_outside_area(request, member.household)
                return redirect("members:member_detail", pk=member.pk)
    else:
        household = _household_from_query(request)
        pick = HouseholdPickForm(initial={"household": household})
        form = MemberForm()
        address_form = AddressForm(prefix="adres")
        consent_form = PaperConsentForm(prefix="papier", texts=texts, required=False)
    return render(
        request,
        "members/member_create.html",
        {
            "form": form,
            "pick": pick,
            "address_form": address_form,
            "consent_form": consent_form,
            **_household_choice(request, household),
        },
    )


class _HistoryRow(NamedTuple):
    """A move and an address change read alike in one table; `kind` picks the words for it:
    "moved" (this member), "arrived" (`who` came to live here), "address" (the household)."""

    on: dt.date
    kind: str
    old: str
    new: str
    who: str = ""


def _address_changes(household: Household) -> list[_HistoryRow]:
    return [
        _HistoryRow(change.changed_on, "address", change.old_address, change.new_address)
        for change in household.address_changes.all()
    ]


@role_required(Role.COORDINATOR, Role.TREASURER)
@require_http_methods(["GET", "POST"])
def member_detail(request, pk: int):
    """Everything about one member; coordinators may also record a consent given on paper."""
    member = member_for_user(request.user, pk)
    can_edit = request.user.has_role(Role.COORDINATOR)
    if request.method == "POST" and not can_edit:
        raise PermissionDenied
    consent_form = None
    if can_edit:
        given = set(
            member.consents.filter(withdrawn_at__isnull=True).values_list(
                "consent_text_id", flat=True
            )
        )
        open_texts = [text for text in consent_texts_current() if text.pk not in given]
        if open_texts:
            consent_form = PaperConsentForm(
                request.POST if request.method == "POST" else None,
                prefix="papier",
                texts=open_texts,
            )
    if request.method == "POST":
        if consent_form is None:
            messages.info(request, gettext("Alle toestemmingen zijn al vastgelegd."))
            return redirect("members:member_detail", pk=member.pk)
        if consent_form.is_valid():
            with transaction.atomic():
                for text in consent_form.cleaned_data["consent_texts"]:
                    consent_record(
                        member=member, consent_text=text, via=Consent.Via.PAPER, by=request.user
                    )
            messages.success(request, gettext("De toestemming op papier is vastgelegd."))
            return redirect("members:member_detail", pk=member.pk)
    household = member.household
    return render(
        request,
        "members/member_detail.html",
        {
            "member": member,
            "household": household,
            "housemates": household.members.exclude(pk=member.pk).order_by("sort_name"),
            "status_changes": member.status_changes.select_related("changed_by"),
            "history": [
                *(
                    _HistoryRow(move.moved_on, "moved", move.from_address, move.to_address)
                    for move in member.moves.all()
                ),
                *_address_changes(household),
            ],
            "consents": member.consents.select_related("consent_text", "recorded_by"),
            "consent_form": consent_form,
            "notices": selectors.member_notices(member),
            "panels": household_panels(household, user=request.user),
            "can_edit": can_edit,
        },
    )


@role_required(Role.COORDINATOR)
@once_per_form
@require_http_methods(["GET", "POST"])
def member_notice(request, pk: int):
    """A member gave notice online: confirm it (the status changes, the history records it), or
    take it back for them when they changed their mind and called."""
    member = member_for_user(request.user, pk)
    notices = selectors.member_notices(member)
    pending = next((notice for notice in notices if notice.is_pending), None)
    form = None
    if pending is not None:
        confirming = request.method == "POST" and request.POST.get("action") != "withdraw"
        form = NoticeConfirmForm(
            request.POST if confirming else None, initial={"effective_on": pending.end_on}
        )
    if request.method == "POST":
        if pending is None:
            messages.info(request, gettext("Deze opzegging is al afgehandeld."))
            return redirect("members:member_detail", pk=member.pk)
        if request.POST.get("action") == "withdraw":
            membership_notice_withdraw(member=member, by=request.user)
            messages.success(
                request,
                gettext("De opzegging is ingetrokken. %(name)s blijft lid.")
                % {"name": member.full_name},
            )
            return redirect("members:member_detail", pk=member.pk)
        if form.is_valid():
            try:
                member = membership_notice_confirm(
                    notice=pending,
                    effective_on=form.cleaned_data["effective_on"],
                    by=request.user,
                )
            except MembershipError as error:
                form.add_error(None, str(error))
            else:
                messages.success(
                    request,
                    gettext("De opzegging van %(name)s is bevestigd: lid tot en met %(date)s.")
                    % {
                        "name": member.full_name,
                        "date": dateformat.format(member.ended_on, "j F Y"),
                    },
                )
                return redirect("members:member_detail", pk=member.pk)
    others = member.household.members.current().exclude(pk=member.pk)
    return render(
        request,
        "members/member_notice.html",
        {
            "member": member,
            "pending": pending,
            "notices": notices,
            "form": form,
            "last_in_household": pending is not None and not others.exists(),
        },
    )


@role_required(Role.COORDINATOR, Role.TREASURER)
def notice_list(request):
    """Notices members gave online that wait for a coordinator, the oldest first."""
    return render(
        request,
        "members/notice_list.html",
        {
            "notices": list(selectors.notices_pending()),
            "can_edit": request.user.has_role(Role.COORDINATOR),
        },
    )


@role_required(Role.COORDINATOR)
@require_http_methods(["GET", "POST"])
def member_edit(request, pk: int):
    member = member_for_user(request.user, pk)
    form = MemberForm(request.POST or None, member=member)
    if request.method == "POST" and form.is_valid():
        try:
            member_update(member=member, person=form.person(), by=request.user)
        except MembershipError as error:
            form.add_error(None, str(error))
        except IntegrityError as error:
            if not _is_email_clash(error):
                raise
            form.add_error("email", EMAIL_CLASH)
        else:
            messages.success(
                request,
                gettext("De gegevens van %(name)s zijn opgeslagen.") % {"name": member.full_name},
            )
            return redirect("members:member_detail", pk=member.pk)
    return render(request, "members/member_edit.html", {"member": member, "form": form})


@role_required(Role.COORDINATOR)
@once_per_form
@require_http_methods(["GET", "POST"])
def member_status(request, pk: int):
    """One step in the lifecycle; activating queues the welcome message (e-mail or letter)."""
    member = member_for_user(request.user, pk)
    form = None
    if member.allowed_transitions():
        form = StatusChangeForm(request.POST or None, member=member)
    if request.method == "POST" and form is not None and form.is_valid():
        from_status = member.status
        try:
            member = member_change_status(
                member=member,
                to_status=form.cleaned_data["to_status"],
                effective_on=form.cleaned_data["effective_on"],
                reason=form.cleaned_data["reason"],
                by=request.user,
            )
        except MembershipError as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request,
                gettext("De status van %(name)s is nu: %(status)s.")
                % {"name": member.full_name, "status": member.get_status_display()},
            )
            if from_status == Member.Status.APPLIED and member.status == Member.Status.ACTIVE:
                if member.email and member.contact_preference == Member.ContactPreference.EMAIL:
                    notice = gettext("Er gaat een welkomstmail naar %(email)s.") % {
                        "email": member.email
                    }
                else:
                    notice = gettext("De welkomstbrief staat klaar om te printen bij 'Brieven'.")
                messages.info(request, notice)
            return redirect("members:member_detail", pk=member.pk)
    return render(request, "members/member_status.html", {"member": member, "form": form})


@role_required(Role.COORDINATOR)
@once_per_form
@require_http_methods(["GET", "POST"])
def member_move(request, pk: int):
    """The member moves to a known household or to a new address; number and history stay."""
    member = member_for_user(request.user, pk)
    if request.method == "POST":
        form = MoveForm(request.POST)
        address_form = AddressForm(request.POST, prefix="adres")
        valid = form.is_valid()
        target = _chosen_household(form)
        if valid and (target is not None or address_form.is_valid()):
            try:
                if target is not None:
                    member = services.member_move(
                        member=member,
                        to_household=target,
                        moved_on=form.cleaned_data["moved_on"],
                        by=request.user,
                    )
                else:
                    member = member_move_out(
                        member=member,
                        address=address_form.address(),
                        moved_on=form.cleaned_data["moved_on"],
                        by=request.user,
                    )
            except MembershipError as error:
                form.add_error(None, str(error))
            else:
                messages.success(
                    request,
                    gettext("%(name)s woont nu op %(address)s.")
                    % {"name": member.full_name, "address": member.household.address_line},
                )
                _warn_if_outside_area(request, member.household)
                return redirect("members:member_detail", pk=member.pk)
    else:
        target = _household_from_query(request, exclude=member.household)
        form = MoveForm(initial={"household": target})
        address_form = AddressForm(prefix="adres")
    return render(
        request,
        "members/member_move.html",
        {
            "member": member,
            "form": form,
            "address_form": address_form,
            **_household_choice(request, target, exclude=member.household),
        },
    )


@role_required(Role.COORDINATOR, Role.TREASURER)
def household_detail(request, pk: int):
    household = household_for_user(request.user, pk)
    return render(
        request,
        "members/household_detail.html",
        {
            "household": household,
            "members": household.members.order_by("sort_name"),
            "history": [
                *_address_changes(household),
                *(
                    _HistoryRow(
                        move.moved_on,
                        "arrived",
                        move.from_address,
                        move.to_address,
                        move.member.full_name,
                    )
                    for move in Move.objects.filter(to_household=household).select_related("member")
                ),
            ],
            "panels": household_panels(household, user=request.user),
            "can_edit": request.user.has_role(Role.COORDINATOR),
        },
    )


@role_required(Role.COORDINATOR)
@require_http_methods(["GET", "POST"])
def household_edit(request, pk: int):
    """The household moves as a whole: the old address stays in its history."""
    household = household_for_user(request.user, pk)
    form = HouseholdAddressForm(request.POST or None, household=household)
    if request.method == "POST" and form.is_valid():
        old_address = household.address_line
        try:
            household = household_change_address(
                household=household,
                address=form.address(),
                changed_on=form.cleaned_data["changed_on"],
                by=request.user,
            )
        except MembershipError as error:
            form.add_error(None, str(error))
        else:
            if household.address_line == old_address:
                messages.info(request, gettext("Het adres was al zo. Er is niets veranderd."))
            else:
                messages.success(
                    request,
                    gettext(
                        "Het nieuwe adres is opgeslagen. Het oude adres blijft in de geschiedenis."
                    ),
                )
                _warn_if_outside_area(request, household)
            return redirect("members:household_detail", pk=household.pk)
    return render(request, "members/household_edit.html", {"household": household, "form": form})


@role_required(Role.COORDINATOR)
@once_per_form
@require_http_methods(["GET", "POST"])
def buurt_list(request):
    """The buurten with their postcodes and counts, in a fixed number of queries."""
    form = BuurtForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            buurt = buurt_create(
                name=form.cleaned_data["name"], description=form.cleaned_data["description"]
            )
        except IntegrityError:
            form.add_error("name", gettext("Er is al een buurt met deze naam."))
        else:
            messages.success(
                request,
                gettext("Buurt %(name)s is toegevoegd. Geef nu aan welke postcodes erbij horen.")
                % {"name": buurt.name},
            )
            return redirect("members:buurt_detail", pk=buurt.pk)
    return render(
        request,
        "members/buurt_list.html",
        {
            "buurten": selectors.buurten_with_counts(),
            "outside_count": selectors.members_outside_area_count(),
            "outside_query": f"buurt={selectors.LIST_BUURT_OUTSIDE}",
            "form": form,
        },
    )


@role_required(Role.COORDINATOR)
@once_per_form
@require_http_methods(["GET", "POST"])
def buurt_detail(request, pk: int):
    buurt = get_object_or_404(Buurt, pk=pk)
    form = PostcodeRangeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            added = postcode_range_add(
                buurt=buurt, start=form.cleaned_data["start"], end=form.cleaned_data["end"]
            )
        except MembershipError as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request,
                gettext("De postcodes %(range)s horen nu bij buurt %(buurt)s.")
                % {"range": added, "buurt": buurt.name},
            )
            return redirect("members:buurt_detail", pk=buurt.pk)
    current = [Member.Status.APPLIED, Member.Status.ACTIVE]
    return render(
        request,
        "members/buurt_detail.html",
        {
            "buurt": buurt,
            "ranges": buurt.postcode_ranges.all(),
            "households_count": buurt.households.count(),
            "member_households_count": buurt.households.filter(members__status__in=current)
            .distinct()
            .count(),
            "members_count": Member.objects.filter(
                household__buurt=buurt, status__in=current
            ).count(),
            "outside_count": selectors.members_outside_area_count(),
            "outside_query": f"buurt={selectors.LIST_BUURT_OUTSIDE}",
            "form": form,
        },
    )


@role_required(Role.COORDINATOR)
@require_http_methods(["GET", "POST"])
def postcode_range_delete(request, pk: int, range_pk: int):
    """Remove postcodes from a buurt; the households there get their buurt recomputed."""
    postcode_range = get_object_or_404(
        PostcodeRange.objects.select_related("buurt"), pk=range_pk, buurt_id=pk
    )
    buurt = postcode_range.buurt
    affected = Household.objects.filter(
        buurt=buurt, postcode__gte=postcode_range.start, postcode__lte=postcode_range.end
    ).count()
    if request.method == "POST":
        try:
            postcode_range_remove(postcode_range=postcode_range)
        except MembershipError as error:
            messages.error(request, str(error))
        else:
            messages.success(
                request,
                gettext("De postcodes %(range)s horen niet meer bij buurt %(buurt)s.")
                % {"range": postcode_range, "buurt": buurt.name},
            )
            if affected:
                messages.warning(
                    request,
                    ngettext(
                        "%(count)d huishouden valt nu buiten het werkgebied.",
                        "%(count)d huishoudens vallen nu buiten het werkgebied.",
                        affected,
                    )
                    % {"count": affected},
                )
        return redirect("members:buurt_detail", pk=buurt.pk)
    return render(
        request,
        "members/postcode_range_delete.html",
        {"buurt": buurt, "postcode_range": postcode_range, "affected": affected},
    )
