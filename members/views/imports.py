"""Importing a member file: upload and check, preview, confirm. Coordinators only."""

from django import forms
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from coop.accounts.access import role_required
from coop.accounts.roles import Role
from coop.core.form_tokens import once_per_form

from ..imports import (
    COLUMNS,
    MAX_FILE_BYTES,
    MemberImportAlreadyDone,
    MemberImportError,
    MemberImportRowErrors,
    example_csv,
    member_import_confirm,
    member_import_read,
    member_import_store,
    plan_import,
)
from ..models import MemberImport

ERRORS_SHOWN = 1000
PREVIEW_ROWS = 50


class MemberImportForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("Uw ledenlijst (CSV of Excel .xlsx)"),
        help_text=gettext_lazy(
            "Hoogstens 10 MB. Rij 1 bevat de kolomnamen, daaronder één lid per rij."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.xlsx,text/csv"}),
    )

    def clean_file(self):
        file = self.cleaned_data["file"]
        if file.size > MAX_FILE_BYTES:
            raise forms.ValidationError(
                _("Het bestand is te groot (meer dan %(mb)s MB). Splits het in kleinere bestanden.")
                % {"mb": MAX_FILE_BYTES // (1024 * 1024)}
            )
        extension = file.name.rsplit(".", 1)[-1].lower() if "." in file.name else ""
        if extension not in ("csv", "txt", "xlsx", "xlsm", "xls", "ods", ""):
            raise forms.ValidationError(
                _("Kies een CSV-bestand (.csv) of een Excel-bestand (.xlsx).")
            )
        return file


def _errors_context(exc: MemberImportRowErrors) -> dict:
    return {
        "errors": exc.errors[:ERRORS_SHOWN],
        "error_count": len(exc.errors),
        "errors_hidden": max(0, len(exc.errors) - ERRORS_SHOWN),
    }


@role_required(Role.COORDINATOR)
def member_import(request):
    if request.GET.get("voorbeeld") == "csv":
        response = HttpResponse(example_csv(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="leden-voorbeeld.csv"'
        return response

    form = (
        MemberImportForm(request.POST, request.FILES)
        if request.method == "POST"
        else MemberImportForm()
    )
    context: dict = {"form": form, "columns": COLUMNS}
    if request.method == "POST" and form.is_valid():
        try:
            # Read and check before once_per_form opens its transaction: a large file must not
            # hold the database's write lock while it is read.
            checked = member_import_read(file=form.cleaned_data["file"])
        except MemberImportRowErrors as exc:
            context.update(_errors_context(exc))
        except MemberImportError as exc:
            context["file_error"] = exc
        else:
            return _member_import_keep(request, checked=checked)
    return render(request, "members/member_import.html", context)


@once_per_form
def _member_import_keep(request, *, checked):
    uploaded = member_import_store(checked=checked, by=request.user)
    return redirect("members:member_import_preview", token=uploaded.token)


@role_required(Role.COORDINATOR)
def member_import_preview(request, token):
    member_import = (
        MemberImport.objects.select_related("uploaded_by", "imported_by")
        .filter(token=token)
        .first()
    )
    if member_import is None:
        messages.error(request, _("Deze import bestaat niet (meer). Upload het bestand opnieuw."))
        return redirect("members:member_import")

    context: dict = {"member_import": member_import}
    if request.method == "POST":
        try:
            count = member_import_confirm(member_import=member_import, by=request.user)
        except MemberImportAlreadyDone as exc:
            messages.warning(request, exc.message)
            return redirect("members:member_list")
        except MemberImportRowErrors as exc:
            context.update(_errors_context(exc))
            context["changed_since_preview"] = True
        except MemberImportError as exc:
            context["file_error"] = exc
        else:
            messages.success(
                request,
                _("%(count)s leden zijn geïmporteerd uit %(file)s.")
                % {"count": count, "file": member_import.file_name},
            )
            return redirect("members:member_list")
        member_import.refresh_from_db()

    if member_import.status == MemberImport.Status.PENDING:
        plan = plan_import(member_import.rows)
        context.update(
            plan=plan,
            per_buurt=plan.per_buurt(),
            preview_rows=plan.preview_rows(PREVIEW_ROWS),
            rows_hidden=max(0, plan.member_count - PREVIEW_ROWS),
        )
    return render(request, "members/member_import_preview.html", context)
