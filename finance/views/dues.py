"""The treasurer's dues and invoice pages, the coordinators' "paid?" list, and members' invoices."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Exists, OuterRef, Prefetch, Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from coop.accounts.access import role_required
from coop.accounts.roles import Role
from coop.core.form_tokens import once_per_form
from coop.lib.money import ZERO, format_money
from members.models import Household, Member

from .. import selectors
from ..documents import invoice_pdf, invoice_pdf_filename
from ..dues_forms import (
    DuesRunForm,
    DuesStatusFilterForm,
    InvoiceFilterForm,
    ManualPaymentForm,
    MemberRateForm,
    ReasonForm,
    SchemeForm,
)
from ..invoice_exports import invoices_export, ledger_export
from ..models import ContributionScheme, Invoice, LedgerEntry, MemberRate
from ..services import FinanceError
from ..services.batch_care import collections_paid_twice
from ..services.contact import creditor_context
from ..services.dues import (
    SkipReason,
    dues_run_execute,
    dues_run_preview,
    dues_run_summary,
    member_rate_set,
    scheme_create,
    scheme_update,
)
from ..services.invoices import (
    OverpaymentNotConfirmed,
    invoice_credit,
    invoice_write_off,
    ledger_entry_refusal,
    ledger_entry_reverse,
    payment_record_manual,
    reversible_entry_ids,
)

PAGE_SIZE = 50
PREVIEW_ROWS = 100
GROUP_MINIMUM = "minimumbedrag"  # the households raised to the minimum, beside the skip reasons


def _filter_query(request) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


# Overview and schemes -----------------------------------------------------------------------------


@role_required(Role.TREASURER)
def finance_overview(request):
    year = timezone.localdate().year
    context = selectors.finance_overview(year=year)
    context["schemes"] = ContributionScheme.objects.all()[:5]
    context["paid_twice"] = collections_paid_twice()
    return render(request, "finance/finance_overview.html", context)


@role_required(Role.TREASURER)
def scheme_list(request):
    return render(
        request, "finance/scheme_list.html", {"schemes": ContributionScheme.objects.all()}
    )


@role_required(Role.TREASURER)
@once_per_form
@require_http_methods(["GET", "POST"])
def scheme_create_view(request):
    form = SchemeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            scheme = scheme_create(**form.cleaned_data, by=request.user)
        except FinanceError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request, _("De regeling voor %(year)s is opgeslagen.") % {"year": scheme.year}
            )
            return redirect("finance:scheme_list")
    return render(request, "finance/scheme_form.html", {"form": form, "scheme": None})


@role_required(Role.TREASURER)
@require_http_methods(["GET", "POST"])
def scheme_edit(request, pk: int):
    scheme = get_object_or_404(ContributionScheme, pk=pk)
    form = SchemeForm(request.POST or None, scheme=scheme)
    if scheme.locked_at is None and request.method == "POST" and form.is_valid():
        changes = {k: v for k, v in form.cleaned_data.items() if k != "year"}
        try:
            scheme_update(scheme=scheme, **changes, by=request.user)
        except FinanceError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request, _("De regeling voor %(year)s is opgeslagen.") % {"year": scheme.year}
            )
            return redirect("finance:scheme_list")
    elif scheme.locked_at is not None and request.method == "POST":
        messages.error(
            request,
            _(
                "De regeling voor %(year)s is al gebruikt voor de contributierun "
                "en kan niet meer worden gewijzigd."
            )
            % {"year": scheme.year},
        )
        return redirect("finance:scheme_list")
    return render(request, "finance/scheme_form.html", {"form": form, "scheme": scheme})


# The dues run -------------------------------------------------------------------------------------


@role_required(Role.TREASURER)
@once_per_form
@require_http_methods(["GET", "POST"])
def dues_run(request, year: int):
    scheme = ContributionScheme.objects.filter(year=year).first()
    if scheme is None:
        messages.error(
            request, _("Er is nog geen contributieregeling voor %(year)s.") % {"year": year}
        )
        return redirect("finance:scheme_list")
    form = DuesRunForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            result = dues_run_execute(year=year, by=request.user)
        except FinanceError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, dues_run_summary(result))
            return redirect(
                f"{reverse('finance:invoice_list')}?kind=invoice&year={timezone.localdate().year}"
            )
    preview = dues_run_preview(year=year)
    raised = preview.raised_to_minimum()
    context = {
        "form": form,
        "scheme": scheme,
        "preview": preview,
        "shown": preview.invoices[:PREVIEW_ROWS],
        "more": max(0, len(preview.invoices) - PREVIEW_ROWS),
        "groups": preview.skipped_groups(),
        "raised_count": len(raised),
        "group_minimum": GROUP_MINIMUM,
        "group_new": SkipReason.NEW_IN_INVOICED.value,
    }
    # One group at a time, a page of it: the preview stays short however many are skipped.
    group = request.GET.get("groep", "")
    if group == GROUP_MINIMUM and raised:
        rows, label = raised, _("Betalen het minimumbedrag")
    elif group in SkipReason.values:
        rows, label = preview.skipped_in(group), SkipReason(group).label
    else:
        rows = []
    if rows:
        paginator = Paginator(rows, PAGE_SIZE)
        page = paginator.get_page(request.GET.get("page"))
        context.update(
            {
                "group": group,
                "group_label": label,
                "group_count": paginator.count,
                "page": page,
                "paginator": paginator,
                "filter_query": _filter_query(request),
            }
        )
    return render(request, "finance/dues_run.html", context)


# Invoices -----------------------------------------------------------------------------------------


def _invoice_filters(request) -> tuple[InvoiceFilterForm, selectors.InvoiceFilter]:
    form = InvoiceFilterForm(request.GET or None)
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        return form, selectors.InvoiceFilter(
            year=data["year"],
            status=data["status"],
            kind=data["kind"],
            buurt=data["buurt"].pk if data["buurt"] else None,
            q=data["q"],
        )
    return form, selectors.InvoiceFilter()


@role_required(Role.TREASURER)
def invoice_list(request):
    form, filters = _invoice_filters(request)
    invoices = selectors.invoice_list(filters)
    totals = selectors.invoice_totals(selectors.invoice_search(filters))
    paginator = Paginator(invoices, PAGE_SIZE)
    paginator.count = totals["count"]  # counted with the totals: one scan fewer
    page = paginator.get_page(request.GET.get("page"))
    return render(
        request,
        "finance/invoice_list.html",
        {
            "form": form,
            "page": page,
            "paginator": paginator,
            "invoices": page.object_list,
            "totals": totals,
            "filter_query": _filter_query(request),
            "is_filtered": bool(request.GET.get("q") or filters != selectors.InvoiceFilter()),
            "open_statuses": selectors.OPEN_STATUSES,
        },
    )


@role_required(Role.TREASURER)
@never_cache
def invoice_export(request, fmt: str):
    _form, filters = _invoice_filters(request)
    return invoices_export(selectors.invoice_search(filters), fmt)


@role_required(Role.TREASURER)
@never_cache
def ledger_export_view(request, fmt: str):
    _form, filters = _invoice_filters(request)
    return ledger_export(selectors.ledger_entries_for(selectors.invoice_search(filters)), fmt)


@role_required(Role.TREASURER)
def invoice_detail(request, pk: int):
    invoice = selectors.invoice_for_treasurer(pk)
    entries = list(invoice.entries.select_related("created_by").prefetch_related("reversals"))
    return render(
        request,
        "finance/invoice_detail.html",
        {
            "invoice": invoice,
            "lines": invoice.lines.all(),
            "entries": entries,
            "reversible": reversible_entry_ids(invoice, entries),
            "payments": invoice.payments.all(),
            "credit_notes": invoice.credit_notes.all(),
            "can_credit": invoice.kind == Invoice.Kind.INVOICE
            and invoice.status == Invoice.Status.OPEN,
            "can_write_off": invoice.kind == Invoice.Kind.INVOICE
            and invoice.status in selectors.OPEN_STATUSES,
            "can_pay": invoice.kind == Invoice.Kind.INVOICE
            and invoice.status != Invoice.Status.CREDITED,
        },
    )


def _pdf_response(invoice: Invoice) -> HttpResponse:
    response = HttpResponse(invoice_pdf(invoice), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{invoice_pdf_filename(invoice)}"'
    return response


@role_required(Role.TREASURER)
@never_cache
def invoice_pdf_view(request, pk: int):
    return _pdf_response(get_object_or_404(Invoice, pk=pk))


def _invoice_action(request, pk: int, *, action: str):
    invoice = selectors.invoice_for_treasurer(pk)
    form_class = ManualPaymentForm if action == "payment" else ReasonForm
    form = form_class(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            if action == "credit":
                credit_note = invoice_credit(
                    invoice=invoice, reason=data["reason"], by=request.user
                )
                messages.success(
                    request,
                    _("Factuur %(number)s is gecrediteerd met creditnota %(credit)s.")
                    % {"number": invoice.number, "credit": credit_note.number},
                )
            elif action == "write_off":
                entry = invoice_write_off(invoice=invoice, reason=data["reason"], by=request.user)
                messages.success(
                    request,
                    _("%(amount)s van factuur %(number)s is afgeboekt.")
                    % {"amount": format_money(entry.amount), "number": invoice.number},
                )
            else:
                entry = payment_record_manual(
                    invoice=invoice,
                    amount=data["amount"],
                    booked_on=data["booked_on"],
                    note=data["note"],
                    by=request.user,
                    allow_overpayment=data["confirm_overpayment"],
                )
                messages.success(
                    request,
                    _("Betaling van %(amount)s geboekt op factuur %(number)s.")
                    % {"amount": format_money(entry.amount), "number": invoice.number},
                )
                balance = selectors.invoice_for_treasurer(pk).balance
                if balance < ZERO:
                    messages.warning(
                        request,
                        _("Er is %(amount)s te veel betaald. Betaal dat terug of verreken het.")
                        % {"amount": format_money(-balance)},
                    )
        except OverpaymentNotConfirmed as exc:
            form.ask_overpayment_confirmation()
            form.add_error(None, str(exc))
        except FinanceError as exc:
            form.add_error(None, str(exc))
        else:
            return redirect("finance:invoice_detail", pk=invoice.pk)
    titles = {
        "credit": _("Factuur %(number)s crediteren"),
        "write_off": _("Factuur %(number)s afboeken"),
        "payment": _("Betaling boeken op factuur %(number)s"),
    }
    explanations = {
        "credit": _(
            "Er komt een creditnota met een eigen nummer. De factuur blijft bestaan en krijgt de "
            "status ‘Gecrediteerd’. Het lid hoeft niets meer te betalen."
        ),
        "write_off": _(
            "Het bedrag dat nog openstaat wordt afgeboekt als oninbaar. "
            "De factuur krijgt de status ‘Afgeboekt’."
        ),
        "payment": _(
            "Boek geld dat buiten iDEAL en de bank-import om binnenkwam, bijvoorbeeld contant."
        ),
    }
    return render(
        request,
        "finance/invoice_action.html",
        {
            "invoice": invoice,
            "form": form,
            "action": action,
            "title": titles[action] % {"number": invoice.number},
            "explanation": explanations[action],
        },
    )


@role_required(Role.TREASURER)
@once_per_form
@require_http_methods(["GET", "POST"])
def invoice_credit_view(request, pk: int):
    return _invoice_action(request, pk, action="credit")


@role_required(Role.TREASURER)
@once_per_form
@require_http_methods(["GET", "POST"])
def invoice_write_off_view(request, pk: int):
    return _invoice_action(request, pk, action="write_off")


@role_required(Role.TREASURER)
@once_per_form
@require_http_methods(["GET", "POST"])
def invoice_payment_view(request, pk: int):
    return _invoice_action(request, pk, action="payment")


@role_required(Role.TREASURER)
@once_per_form
@require_http_methods(["GET", "POST"])
def ledger_entry_reverse_view(request, pk: int):
    """Reverse a wrong booking (a payment booked by hand, a transfer, a write-off)."""
    entry = get_object_or_404(LedgerEntry.objects.prefetch_related("reversals"), pk=pk)
    invoice = selectors.invoice_for_treasurer(entry.invoice_id)
    refusal = ledger_entry_refusal(entry)
    if refusal is not None:
        messages.error(request, refusal)
        return redirect("finance:invoice_detail", pk=invoice.pk)
    form = ReasonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            reversal = ledger_entry_reverse(
                entry=entry, reason=form.cleaned_data["reason"], by=request.user
            )
        except FinanceError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request,
                _("De boeking van %(amount)s op factuur %(number)s is teruggedraaid.")
                % {"amount": format_money(-reversal.amount), "number": invoice.number},
            )
            if entry.source == LedgerEntry.Source.TRANSFER:
                messages.info(
                    request,
                    _(
                        "Staat de overboeking op een bankafschrift, dan staat die regel weer bij "
                        "de niet-gekoppelde regels. Koppel hem daar aan de juiste factuur."
                    ),
                )
            return redirect("finance:invoice_detail", pk=invoice.pk)
    return render(
        request,
        "finance/invoice_action.html",
        {
            "invoice": invoice,
            "entry": entry,
            "form": form,
            "action": "reverse",
            "title": _("Boeking op factuur %(number)s terugdraaien") % {"number": invoice.number},
            "explanation": _(
                "Er komt een terugboeking van hetzelfde bedrag bij; de oorspronkelijke boeking "
                "blijft zichtbaar. Het saldo en de status van de factuur worden opnieuw bepaald."
            ),
        },
    )


# Households and member rates ----------------------------------------------------------------------


@role_required(Role.TREASURER)
def household_balance(request, pk: int):
    household = get_object_or_404(Household.objects.select_related("buurt"), pk=pk)
    invoices = list(selectors.household_invoices(household))
    members = (
        Member.objects.filter(household=household)
        .select_related("dues_rate")
        .order_by("joined_on", "number")
    )
    open_total = sum(
        (
            i.balance
            for i in invoices
            if i.kind == Invoice.Kind.INVOICE and i.status in selectors.OPEN_STATUSES
        ),
        ZERO,
    )
    return render(
        request,
        "finance/household_balance.html",
        {
            "household": household,
            "invoices": invoices,
            "members": members,
            "open_total": open_total,
        },
    )


@role_required(Role.TREASURER)
@require_http_methods(["GET", "POST"])
def member_rate(request, pk: int):
    member = get_object_or_404(Member.objects.select_related("household"), pk=pk)
    current = MemberRate.objects.filter(member=member).first()
    initial = {
        "rate": current.rate if current else MemberRate.Rate.STANDARD,
        "reason": current.reason if current else "",
    }
    form = MemberRateForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            member_rate_set(
                member=member,
                rate=form.cleaned_data["rate"],
                reason=form.cleaned_data["reason"],
                by=request.user,
            )
        except FinanceError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request, _("Het tarief van %(name)s is opgeslagen.") % {"name": member.full_name}
            )
            return redirect("finance:household_balance", pk=member.household_id)
    return render(request, "finance/member_rate_form.html", {"member": member, "form": form})


# Paid or not: coordinators and the treasurer ------------------------------------------------------

DUES_FILTER_CHOICES = ("", "paid", "open", "none")


@role_required(Role.COORDINATOR, Role.TREASURER)
def dues_status_list(request):
    """Which households paid their contribution. Coordinators see paid/open only: no amounts paid,
    no bank details."""
    form = DuesStatusFilterForm(request.GET or None)
    year = timezone.localdate().year
    q, buurt = "", None
    if form.is_bound and form.is_valid():
        year = form.cleaned_data["year"] or year
        q = " ".join(form.cleaned_data["q"].split())
        buurt = form.cleaned_data["buurt"]
    show = request.GET.get("toon", "")
    show = show if show in DUES_FILTER_CHOICES else ""
    current = Member.objects.filter(status__in=[Member.Status.ACTIVE, Member.Status.APPLIED])
    households = (
        Household.objects.filter(Exists(current.filter(household=OuterRef("pk"))))
        .select_related("buurt")
        .prefetch_related(
            Prefetch(
                "members",
                queryset=current.order_by("joined_on", "number"),
                to_attr="current_members",
            )
        )
    )
    if buurt is not None:
        households = households.filter(buurt=buurt)
    if q:
        households = households.filter(
            Q(postcode__istartswith=q)
            | Q(street__icontains=q)
            | Exists(current.filter(household=OuterRef("pk"), search_name__contains=q.lower()))
        )
    dues = Invoice.objects.filter(
        kind=Invoice.Kind.INVOICE, dues_year=year, household=OuterRef("pk")
    )
    if show == "paid":
        households = households.filter(Exists(dues.filter(status=Invoice.Status.PAID)))
    elif show == "open":
        households = households.filter(Exists(dues.filter(status__in=selectors.OPEN_STATUSES)))
    elif show == "none":
        households = households.filter(~Exists(dues))
    paginator = Paginator(
        households.order_by("postcode", "house_number", "house_number_addition", "pk"), PAGE_SIZE
    )
    page = paginator.get_page(request.GET.get("page"))
    statuses = selectors.household_dues_status([h.pk for h in page.object_list], year)
    rows = [(household, statuses[household.pk]) for household in page.object_list]
    return render(
        request,
        "finance/dues_status_list.html",
        {
            "form": form,
            "year": year,
            "rows": rows,
            "page": page,
            "paginator": paginator,
            "show": show,
            "filter_query": _filter_query(request),
            "is_treasurer": request.user.has_role(Role.TREASURER),
        },
    )


# Members: their own household's invoices ----------------------------------------------------------


@role_required(Role.MEMBER)
def my_invoices(request):
    """The household's invoices; for each one still to pay, what to transfer and where to, as
    the statement matching reads it (the invoice number in the description)."""
    invoices = list(
        selectors.invoices_in_collection(selectors.invoices_for_user(request.user)).order_by(
            "-issued_on", "-pk"
        )
    )
    to_pay = [
        invoice
        for invoice in invoices
        if invoice.kind == Invoice.Kind.INVOICE
        and invoice.status in selectors.OPEN_STATUSES
        and invoice.balance > 0
    ]
    return render(
        request,
        "finance/invoice_my_list.html",
        {
            "invoices": invoices,
            "open_statuses": selectors.OPEN_STATUSES,
            "to_transfer": [invoice for invoice in to_pay if invoice.collection_on is None],
            "collecting": [invoice for invoice in to_pay if invoice.collection_on is not None],
            **creditor_context(),
        },
    )


@role_required(Role.MEMBER)
@never_cache
def my_invoice_pdf(request, pk: int):
    return _pdf_response(selectors.invoice_for_user(request.user, pk))


urlpatterns = [
    path("financien/", finance_overview, name="finance_overview"),
    path("financien/regelingen/", scheme_list, name="scheme_list"),
    path("financien/regelingen/nieuw/", scheme_create_view, name="scheme_create"),
    path("financien/regelingen/<int:pk>/wijzigen/", scheme_edit, name="scheme_edit"),
    path("financien/contributierun/<int:year>/", dues_run, name="dues_run"),
    path("financien/facturen/", invoice_list, name="invoice_list"),
    path(
        "financien/facturen/export.csv", invoice_export, {"fmt": "csv"}, name="invoice_export_csv"
    ),
    path(
        "financien/facturen/export.xlsx",
        invoice_export,
        {"fmt": "xlsx"},
        name="invoice_export_xlsx",
    ),
    path(
        "financien/boekingen/export.csv",
        ledger_export_view,
        {"fmt": "csv"},
        name="ledger_export_csv",
    ),
    path(
        "financien/boekingen/export.xlsx",
        ledger_export_view,
        {"fmt": "xlsx"},
        name="ledger_export_xlsx",
    ),
    path("financien/facturen/<int:pk>/", invoice_detail, name="invoice_detail"),
    path("financien/facturen/<int:pk>/factuur.pdf", invoice_pdf_view, name="invoice_pdf"),
    path("financien/facturen/<int:pk>/crediteren/", invoice_credit_view, name="invoice_credit"),
    path("financien/facturen/<int:pk>/afboeken/", invoice_write_off_view, name="invoice_write_off"),
    path(
        "financien/facturen/<int:pk>/betaling/", invoice_payment_view, name="invoice_payment_manual"
    ),
    path(
        "financien/boekingen/<int:pk>/terugdraaien/",
        ledger_entry_reverse_view,
        name="ledger_entry_reverse",
    ),
    path("financien/huishoudens/<int:pk>/", household_balance, name="household_balance"),
    path("financien/leden/<int:pk>/tarief/", member_rate, name="member_rate"),
    path("financien/betaald/", dues_status_list, name="dues_status"),
    path("mijn/facturen/", my_invoices, name="my_invoices"),
    path("mijn/facturen/<int:pk>/factuur.pdf", my_invoice_pdf, name="my_invoice_pdf"),
]
