"""Direct debit pages: mandates (treasurer and coordinators; members their own) and batches."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from coop.accounts.access import role_required
from coop.accounts.roles import Role
from coop.core.form_tokens import once_per_form
from coop.lib.numbers import parse_id
from members.selectors import own_member

from .. import sepa_selectors as selectors
from ..models import CollectionBatch, CollectionItem
from ..sepa_forms import BatchCreateForm, MandateFilterForm, MandateSignForm, PaperMandateForm
from ..services import FinanceError
from ..services.batch_care import (
    batch_items_remove,
    collection_item_withdraw,
    collections_paid_twice,
    prenotice_letters_late,
)
from ..services.collections import batch_mark_collected
from ..services.contact import creditor_context
from ..services.identifiers import iban_masked
from ..services.mandates import mandate_record_paper, mandate_revoke, mandate_sign, mandate_text
from ..services.pain008 import UNSTRUCTURED_ADDRESS_VERSIONS
from ..services.sepa import batch_create, batch_export, batch_preview, collection_date_earliest

PAGE_SIZE = 50
MANDATE_ROLES = (Role.TREASURER, Role.COORDINATOR)


def _page(request, queryset):
    paginator = Paginator(queryset, PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return {"page": page, "paginator": paginator, "filter_query": query.urlencode()}


# Mandates -------------------------------------------------------------------------------------


@role_required(*MANDATE_ROLES)
def mandate_list(request):
    """Coordinators see that a household has a mandate; only the treasurer sees whole IBANs."""
    form = MandateFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    mandates = selectors.mandate_search(status=filters.get("status", ""), q=filters.get("q", ""))
    context = _page(request, mandates)
    show_iban = request.user.has_role(Role.TREASURER)
    context["rows"] = [
        (mandate, mandate.iban if show_iban else iban_masked(mandate.iban))
        for mandate in context["page"]
    ]
    context.update({"form": form, "show_iban": show_iban})
    return render(request, "finance/mandate_list.html", context)


@role_required(*MANDATE_ROLES)
@once_per_form
@require_http_methods(["GET", "POST"])
def mandate_record_paper_view(request):
    form = PaperMandateForm(request.POST or None, initial={"signed_on": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            mandate = mandate_record_paper(
                household=form.member.household,
                signed_by=form.member,
                account_holder=data["account_holder"],
                iban=data["iban"],
                bic=data["bic"],
                signed_on=data["signed_on"],
                reference=data["reference"],
                by=request.user,
            )
        except FinanceError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request,
                _("De machtiging %(ref)s voor %(address)s is vastgelegd.")
                % {"ref": mandate.reference, "address": mandate.household.address_line},
            )
            return redirect("finance:mandate_list")
    return render(
        request, "finance/mandate_paper_form.html", {"form": form, "mandate_text": mandate_text()}
    )


@role_required(*MANDATE_ROLES)
@require_http_methods(["GET", "POST"])
def mandate_revoke_view(request, pk: int):
    mandate = selectors.mandate_get(pk)
    if request.method == "POST":
        try:
            mandate_revoke(mandate=mandate, by=request.user)
        except FinanceError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(
                request, _("De machtiging %(ref)s is ingetrokken.") % {"ref": mandate.reference}
            )
        return redirect("finance:mandate_list")
    return render(
        request,
        "finance/mandate_confirm_revoke.html",
        {
            "mandate": mandate,
            "iban": iban_masked(mandate.iban),
            "cancel_url": "finance:mandate_list",
        },
    )


def _own_member(request):
    member = own_member(request.user)
    if member is None:
        raise Http404
    return member


@role_required(Role.MEMBER)
@once_per_form
@require_http_methods(["GET", "POST"])
def my_mandate(request):
    member = _own_member(request)
    current = selectors.mandate_active(member.household)
    form = MandateSignForm(request.POST or None, initial={"account_holder": member.full_name})
    if request.method == "POST" and form.is_valid():
        try:
            mandate_sign(
                household=member.household,
                signed_by=member,
                account_holder=form.cleaned_data["account_holder"],
                iban=form.cleaned_data["iban"],
                consent=form.cleaned_data["consent"],
                by=request.user,
            )
        except FinanceError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request,
                _(
                    "Dank u wel. Uw machtiging is vastgelegd. Voor elke afschrijving krijgt u "
                    "eerst een bericht met het bedrag en de datum."
                ),
            )
            return redirect("finance:my_mandate")
    return render(
        request,
        "finance/mandate_own.html",
        {
            "member": member,
            "mandate": current,
            "iban": iban_masked(current.iban) if current else "",
            "form": form,
            "mandate_text": mandate_text(),
            **creditor_context(),
        },
    )


@role_required(Role.MEMBER)
@require_http_methods(["GET", "POST"])
def my_mandate_revoke(request):
    member = _own_member(request)
    current = selectors.mandate_active(member.household)
    if current is None:
        messages.info(request, _("U heeft geen machtiging meer."))
        return redirect("finance:my_mandate")
    if request.method == "POST":
        try:
            mandate_revoke(mandate=current, by=request.user)
        except FinanceError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(
                request,
                _("Uw machtiging is ingetrokken. Wij schrijven niets meer automatisch af."),
            )
        return redirect("finance:my_mandate")
    return render(
        request,
        "finance/mandate_confirm_revoke.html",
        {
            "mandate": current,
            "iban": iban_masked(current.iban),
            "cancel_url": "finance:my_mandate",
            "own": True,
        },
    )


# Batches --------------------------------------------------------------------------------------


@role_required(Role.TREASURER)
@once_per_form
@require_http_methods(["GET", "POST"])
def batch_list(request):
    earliest = collection_date_earliest()
    form = BatchCreateForm(request.POST or None, initial={"collection_date": earliest})
    if request.method == "POST" and form.is_valid():
        try:
            batch = batch_create(
                collection_date=form.cleaned_data["collection_date"], by=request.user
            )
        except FinanceError as exc:
            form.add_error("collection_date", str(exc))
        else:
            messages.success(
                request,
                _(
                    "De batch is gemaakt met %(count)s incasso's. De leden krijgen nu een "
                    "vooraankondiging. Kijk de batch na en maak daarna het bestand voor de bank."
                )
                % {"count": batch.count},
            )
            return redirect("finance:batch_detail", pk=batch.pk)
    context = _page(request, selectors.batch_list())
    context.update({"form": form, "preview": batch_preview(), "earliest": earliest})
    return render(request, "finance/batch_list.html", context)


@role_required(Role.TREASURER)
def batch_detail(request, pk: int):
    batch = selectors.batch_get(pk)
    context = _page(request, selectors.batch_items(batch))
    counts = selectors.batch_item_counts(batch)
    # A draft is written in the version set now; an exported batch keeps its own.
    draft = batch.status == CollectionBatch.Status.DRAFT
    version = settings.SEPA_PAIN_VERSION if draft else batch.schema_version
    context.update(
        {
            "batch": batch,
            "counts": [
                (label, counts.get(value, 0)) for value, label in CollectionItem.Status.choices
            ],
            "can_export": batch.status == CollectionBatch.Status.DRAFT,
            "schema_version": version,
            "unstructured_addresses": version in UNSTRUCTURED_ADDRESS_VERSIONS,
            "can_mark_collected": batch.status == CollectionBatch.Status.EXPORTED
            and timezone.localdate() >= batch.collection_date,
            "late_letters": prenotice_letters_late(batch) if draft else [],
            "paid_twice": collections_paid_twice(batch=batch) if not draft else [],
        }
    )
    return render(request, "finance/batch_detail.html", context)


@role_required(Role.TREASURER)
@once_per_form
@require_POST
def batch_items_remove_view(request, pk: int):
    """Take the households whose pre-notice letter is late out of a draft batch."""
    batch = selectors.batch_get(pk)
    item_ids = [parse_id(value) for value in request.POST.getlist("item")]
    try:
        count = batch_items_remove(
            batch=batch, item_ids=[pk for pk in item_ids if pk is not None], by=request.user
        )
    except FinanceError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            ngettext(
                "%(count)s incasso is uit de batch gehaald; de factuur staat nog open.",
                "%(count)s incasso's zijn uit de batch gehaald; de facturen staan nog open.",
                count,
            )
            % {"count": count},
        )
    return redirect("finance:batch_detail", pk=batch.pk)


@role_required(Role.TREASURER)
@once_per_form
@require_POST
def collection_item_withdraw_view(request, pk: int):
    """The treasurer withdrew one debit at the bank (it was paid another way meanwhile)."""
    item = selectors.collection_item_get(pk)
    try:
        collection_item_withdraw(item=item, by=request.user)
    except FinanceError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            _("De incasso voor factuur %(number)s staat als ingetrokken.")
            % {"number": item.invoice.number},
        )
    return redirect("finance:batch_detail", pk=item.batch_id)


@role_required(Role.TREASURER)
def returns_list(request):
    """Every returned debit with the bank's reason and what happens next to its invoice."""
    context = _page(request, selectors.returned_items())
    context["rows"] = selectors.return_rows(context["page"].object_list)
    return render(request, "finance/returns_list.html", context)


@role_required(Role.TREASURER)
@once_per_form
@require_POST
def batch_export_view(request, pk: int):
    batch = selectors.batch_get(pk)
    try:
        batch_export(batch=batch, by=request.user)
    except FinanceError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            _(
                "Het incassobestand is gemaakt en gecontroleerd. Download het en lever het in bij "
                "uw bank. De batch kan nu niet meer veranderen."
            ),
        )
    return redirect("finance:batch_detail", pk=batch.pk)


@role_required(Role.TREASURER)
@never_cache
def batch_download(request, pk: int):
    batch = selectors.batch_get(pk, with_xml=True)
    if batch.status == CollectionBatch.Status.DRAFT or not batch.xml:
        raise Http404
    response = HttpResponse(
        batch.xml.encode("utf-8"), content_type="application/xml; charset=utf-8"
    )
    filename = f"incasso-{batch.collection_date:%Y-%m-%d}-{batch.message_id}.xml"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@role_required(Role.TREASURER)
@once_per_form
@require_POST
def batch_collected_view(request, pk: int):
    batch = selectors.batch_get(pk)
    try:
        booked = batch_mark_collected(batch=batch, by=request.user)
    except FinanceError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            _("De batch is geïncasseerd. %(count)s betalingen zijn geboekt.") % {"count": booked},
        )
    return redirect("finance:batch_detail", pk=batch.pk)


urlpatterns = [
    path("financien/machtigingen/", mandate_list, name="mandate_list"),
    path("financien/machtigingen/papier/", mandate_record_paper_view, name="mandate_record_paper"),
    path("financien/machtigingen/<int:pk>/intrekken/", mandate_revoke_view, name="mandate_revoke"),
    path("financien/incasso/", batch_list, name="batch_list"),
    path("financien/incasso/<int:pk>/", batch_detail, name="batch_detail"),
    path("financien/incasso/<int:pk>/exporteren/", batch_export_view, name="batch_export"),
    path("financien/incasso/<int:pk>/incasso.xml", batch_download, name="batch_download"),
    path("financien/incasso/<int:pk>/geincasseerd/", batch_collected_view, name="batch_collected"),
    path(
        "financien/incasso/<int:pk>/uit-batch/", batch_items_remove_view, name="batch_items_remove"
    ),
    path(
        "financien/incasso/regels/<int:pk>/ingetrokken/",
        collection_item_withdraw_view,
        name="collection_item_withdraw",
    ),
    path("financien/incasso/stornos/", returns_list, name="returns_list"),
    path("mijn/machtiging/", my_mandate, name="my_mandate"),
    path("mijn/machtiging/intrekken/", my_mandate_revoke, name="my_mandate_revoke"),
]
