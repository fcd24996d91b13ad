"""Bank statement pages (import, result, the unmatched queue) and the follow-up of unpaid invoices
(reminder settings, the coordinators' call list)."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST

from coop.accounts.access import role_required
from coop.accounts.roles import Role
from coop.core.form_tokens import once_per_form

from .. import sepa_selectors as selectors
from ..models import BankTransaction, FinanceSettings
from ..sepa_forms import (
    CallNoteForm,
    IgnoreForm,
    LinkBatchForm,
    ReminderSettingsForm,
    ResolveForm,
    SplitForm,
    StatementUploadForm,
)
from ..services import FinanceError
from ..services.bank_links import (
    split_remainder,
    transaction_ignore,
    transaction_link_batch,
    transaction_resolve,
    transaction_split,
)
from ..services.calls import call_note_record
from ..services.reminders import reminder_settings_update
from ..services.statements import statement_book, statement_read

PAGE_SIZE = 50


def _page(request, queryset, size: int = PAGE_SIZE):
    paginator = Paginator(queryset, size)
    page = paginator.get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return {"page": page, "paginator": paginator, "filter_query": query.urlencode()}


# Importing ------------------------------------------------------------------------------------


@role_required(Role.TREASURER)
@require_http_methods(["GET", "POST"])
def statement_import_view(request):
    form = StatementUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        content = upload.read()
        try:
            # Read before once_per_form opens its transaction: a large file must not hold the
            # database's write lock while it is parsed.
            parsed = statement_read(content)
        except FinanceError as exc:
            form.add_error("file", str(exc))
        else:
            return _statement_book_view(
                request, form=form, file_name=upload.name, content=content, parsed=parsed
            )
    return _statement_import_page(request, form)


@once_per_form
def _statement_book_view(request, *, form, file_name, content, parsed):
    try:
        result = statement_book(
            file_name=file_name, content=content, parsed=parsed, by=request.user
        )
    except FinanceError as exc:
        form.add_error("file", str(exc))
        return _statement_import_page(request, form)
    messages.success(
        request,
        _(
            "Het afschrift is ingelezen: %(debits)s incasso's, %(transfers)s "
            "overboekingen en %(returns)s stornering(en) gekoppeld; %(unmatched)s "
            "regel(s) wachten op u."
        )
        % {
            "debits": result.debits,
            "transfers": result.transfers,
            "returns": result.returns,
            "unmatched": result.unmatched,
        },
    )
    if result.already_imported:
        messages.info(
            request,
            ngettext(
                "%(count)s regel stond al op een eerder afschrift en is niet opnieuw geboekt.",
                "%(count)s regels stonden al op een eerder afschrift en zijn niet opnieuw geboekt.",
                result.already_imported,
            )
            % {"count": result.already_imported},
        )
    return redirect("finance:statement_detail", pk=result.statement.pk)


def _statement_import_page(request, form):
    context = _page(request, selectors.statement_list(), size=20)
    context.update({"form": form, "unmatched_count": selectors.unmatched_transactions().count()})
    return render(request, "finance/statement_import.html", context)


@role_required(Role.TREASURER)
def statement_detail(request, pk: int):
    statement = selectors.statement_get(pk)
    status = request.GET.get("status", "")
    lines = statement.transactions.select_related("invoice").order_by("booking_date", "pk")
    if status in BankTransaction.Status.values:
        lines = lines.filter(status=status)
    context = _page(request, lines)
    summary = selectors.statement_summary(statement)
    context.update(
        {
            "statement": statement,
            "status": status,
            "unmatched_count": summary.get(BankTransaction.Status.UNMATCHED, {"count": 0})["count"],
            "summary": [
                (value, label, summary.get(value, {"count": 0})["count"])
                for value, label in BankTransaction.Status.choices
            ],
        }
    )
    return render(request, "finance/statement_detail.html", context)


# The unmatched queue --------------------------------------------------------------------------


@role_required(Role.TREASURER)
def unmatched_list(request):
    context = _page(request, selectors.unmatched_transactions())
    batches = selectors.batches_pending()
    context["rows"] = [
        (
            line,
            ResolveForm(prefix=f"t{line.pk}"),
            IgnoreForm(prefix=f"t{line.pk}"),
            LinkBatchForm(prefix=f"t{line.pk}", batches=batches) if batches else None,
        )
        for line in context["page"]
    ]
    return render(request, "finance/transaction_unmatched.html", context)


@role_required(Role.TREASURER)
@once_per_form
@require_POST
def transaction_link_batch_view(request, pk: int):
    line = selectors.transaction_get(pk)
    form = LinkBatchForm(request.POST, prefix=f"t{line.pk}", batches=selectors.batches_pending())
    if not form.is_valid():
        messages.error(request, _("Kies een incassobatch die nog openstaat."))
        return redirect("finance:unmatched_list")
    batch = selectors.batch_get(form.cleaned_data["batch"])
    try:
        count = transaction_link_batch(transaction=line, batch=batch, by=request.user)
    except FinanceError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            _("De regel is gekoppeld aan batch %(batch)s: %(count)s incasso's zijn geboekt.")
            % {"batch": batch.message_id, "count": count},
        )
    return redirect("finance:unmatched_list")


@role_required(Role.TREASURER)
@once_per_form
@require_http_methods(["GET", "POST"])
def transaction_split_view(request, pk: int):
    """Divide one money-in line over several invoices; the page shows what is left to divide."""
    line = selectors.transaction_get(pk)
    if line.status != BankTransaction.Status.UNMATCHED or line.amount <= 0:
        messages.info(request, _("Deze regel is al afgehandeld."))
        return redirect("finance:unmatched_list")
    form = SplitForm(request.POST or None)
    remainder = line.amount
    if request.method == "POST" and form.is_valid():
        remainder = split_remainder(line, [amount for _invoice, amount in form.parts])
        try:
            transaction_split(transaction=line, parts=form.parts, by=request.user)
        except FinanceError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request,
                _("De regel is verdeeld over %(count)s facturen.") % {"count": len(form.parts)},
            )
            return redirect("finance:unmatched_list")
    return render(
        request,
        "finance/transaction_split.html",
        {"line": line, "form": form, "remainder": remainder},
    )


@role_required(Role.TREASURER)
@once_per_form
@require_POST
def transaction_resolve_view(request, pk: int):
    line = selectors.transaction_get(pk)
    form = ResolveForm(request.POST, prefix=f"t{line.pk}")
    if not form.is_valid():
        for error in form.errors.get("invoice_number", []):
            messages.error(request, error)
        return redirect("finance:unmatched_list")
    try:
        transaction_resolve(transaction=line, invoice=form.invoice, by=request.user)
    except FinanceError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            _("De betaling is geboekt op factuur %(number)s.") % {"number": form.invoice.number},
        )
    return redirect("finance:unmatched_list")


@role_required(Role.TREASURER)
@require_POST
def transaction_ignore_view(request, pk: int):
    line = selectors.transaction_get(pk)
    form = IgnoreForm(request.POST, prefix=f"t{line.pk}")
    note = form.cleaned_data["note"] if form.is_valid() else ""
    try:
        transaction_ignore(transaction=line, note=note, by=request.user)
    except FinanceError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("De regel is afgehandeld zonder factuur."))
    return redirect("finance:unmatched_list")


# Reminders and the call list ------------------------------------------------------------------


@role_required(Role.TREASURER)
@require_http_methods(["GET", "POST"])
def reminder_settings(request):
    current = FinanceSettings.current()
    initial = {
        "first_reminder_days": current.first_reminder_days,
        "second_reminder_days": current.second_reminder_days,
        "call_list_days": current.call_list_days,
    }
    form = ReminderSettingsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            reminder_settings_update(**form.cleaned_data)
        except FinanceError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("De instellingen voor herinneringen zijn opgeslagen."))
            return redirect("finance:reminder_settings")
    return render(request, "finance/reminder_settings.html", {"form": form, "settings": current})


@role_required(Role.COORDINATOR, Role.TREASURER)
def call_list(request):
    """Whom to ring about an unpaid invoice: names, phone numbers, amounts; no bank details."""
    today = timezone.localdate()
    groups: dict[str, list] = {
        selectors.CALL_TO_CALL: [],
        selectors.CALL_AGREED: [],
        selectors.CALL_CANNOT_PAY: [],
    }
    for row in selectors.call_list(today=today):
        groups[row.group].append(row)
    return render(
        request,
        "finance/call_list.html",
        {
            "to_call": groups[selectors.CALL_TO_CALL],
            "agreed": groups[selectors.CALL_AGREED],
            "cannot_pay": groups[selectors.CALL_CANNOT_PAY],
            "today": today,
        },
    )


@role_required(Role.COORDINATOR, Role.TREASURER)
@once_per_form
@require_http_methods(["GET", "POST"])
def call_note(request, pk: int):
    """Noting what came of a call: a page per invoice on the call list, with earlier calls."""
    today = timezone.localdate()
    row = selectors.call_list_row(pk, today=today)
    form = CallNoteForm(request.POST or None, today=today)
    if request.method == "POST" and form.is_valid():
        try:
            call_note_record(invoice=row.invoice, by=request.user, **form.cleaned_data)
        except FinanceError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request,
                _("Het gesprek over factuur %(number)s is genoteerd.")
                % {"number": row.invoice.number},
            )
            return redirect("finance:call_list")
    return render(request, "finance/call_note.html", {"row": row, "form": form})


urlpatterns = [
    path("financien/bank/", statement_import_view, name="statement_import"),
    path("financien/bank/<int:pk>/", statement_detail, name="statement_detail"),
    path("financien/bank/ongekoppeld/", unmatched_list, name="unmatched_list"),
    path(
        "financien/bank/regels/<int:pk>/koppelen/",
        transaction_resolve_view,
        name="transaction_resolve",
    ),
    path(
        "financien/bank/regels/<int:pk>/negeren/",
        transaction_ignore_view,
        name="transaction_ignore",
    ),
    path(
        "financien/bank/regels/<int:pk>/batch/",
        transaction_link_batch_view,
        name="transaction_link_batch",
    ),
    path(
        "financien/bank/regels/<int:pk>/verdelen/",
        transaction_split_view,
        name="transaction_split",
    ),
    path("financien/herinneringen/", reminder_settings, name="reminder_settings"),
    path("financien/bellijst/", call_list, name="call_list"),
    path("financien/bellijst/<int:pk>/", call_note, name="call_note"),
]
