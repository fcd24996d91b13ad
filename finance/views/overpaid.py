"""Overpaid invoices in the treasurer's "needs attention" list, and settling each one."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from coop.accounts.access import role_required
from coop.accounts.roles import Role
from coop.core.form_tokens import once_per_form
from coop.lib.money import format_money

from .. import selectors
from ..dues_forms import OverpaidForm
from ..services import FinanceError
from ..services.overpayments import (
    household_credit,
    overpaid_surplus,
    overpayment_keep_as_credit,
    overpayment_refund,
    refund_account_suggested,
)


@role_required(Role.TREASURER)
def overpaid_list(request):
    return render(
        request,
        "finance/overpaid_list.html",
        {
            "invoices": [(invoice, -invoice.balance) for invoice in selectors.invoices_overpaid()],
            "refunds": selectors.refunds_to_pay(),
        },
    )


@role_required(Role.TREASURER)
@once_per_form
@require_http_methods(["GET", "POST"])
def invoice_overpaid(request, pk: int):
    invoice = selectors.invoice_for_treasurer(pk)
    surplus = overpaid_surplus(invoice)
    if surplus <= 0:
        messages.info(
            request,
            _("Factuur %(number)s is niet (meer) te veel betaald.") % {"number": invoice.number},
        )
        return redirect("finance:overpaid_list")
    iban, holder = refund_account_suggested(invoice)
    form = OverpaidForm(
        request.POST or None,
        initial={"way": OverpaidForm.CREDIT, "iban": iban, "account_holder": holder},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            if data["way"] == OverpaidForm.REFUND:
                refund = overpayment_refund(
                    invoice=invoice,
                    iban=data["iban"],
                    account_holder=data["account_holder"],
                    by=request.user,
                )
                done = _("%(amount)s wordt terugbetaald aan %(name)s.") % {
                    "amount": format_money(refund.amount),
                    "name": refund.account_holder,
                }
            else:
                kept = overpayment_keep_as_credit(invoice=invoice, by=request.user)
                done = _("%(amount)s staat als tegoed voor de volgende factuur.") % {
                    "amount": format_money(kept)
                }
        except FinanceError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, done)
            return redirect("finance:overpaid_list")
    return render(
        request,
        "finance/invoice_overpaid.html",
        {
            "invoice": invoice,
            "surplus": surplus,
            "credit": household_credit(invoice.household),
            "form": form,
        },
    )


urlpatterns = [
    path("financien/te-veel-betaald/", overpaid_list, name="overpaid_list"),
    path("financien/facturen/<int:pk>/te-veel-betaald/", invoice_overpaid, name="invoice_overpaid"),
]
