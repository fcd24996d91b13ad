"""Paying online: the member's pay and return pages, the provider's webhook, the demo checkout,
and the treasurer's list of online payments (with the ones that need attention)."""

from __future__ import annotations

import logging
import re

from csp.decorators import csp_update
from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db import DatabaseError
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from coop.accounts.access import public, role_required
from coop.accounts.roles import Role
from coop.core.form_tokens import once_per_form
from coop.lib.money import format_money
from coop.lib.numbers import parse_id

from .. import selectors
from ..models import DemoPayment, Payment
from ..providers import ProviderError
from ..providers.demo import demo_allowed
from ..services import FinanceError
from ..services.payments import (
    PAYABLE,
    demo_checkout_complete,
    payment_attention_resolve,
    payment_blocked_by_debit,
    payment_list,
    payment_refresh,
    payment_refund_surplus,
    payment_return_path,
    payment_start,
    payment_webhook_received,
)

logger = logging.getLogger(__name__)

_PROVIDER_ID = re.compile(r"^[A-Za-z0-9_-]{1,100}$")
PAGE_SIZE = 50


def _payable(invoice) -> bool:
    return (
        invoice.kind == invoice.Kind.INVOICE and invoice.status in PAYABLE and invoice.balance > 0
    )


# The member ------------------------------------------------------------------------------------


# The POST answers with a redirect to the provider's checkout, which may redirect on to the bank;
# Chromium holds each of those hops to this page's form-action. Only this page allows them.
@role_required(Role.MEMBER)
@require_http_methods(["GET", "POST"])
@csp_update({"form-action": ["https:"]})
def invoice_pay(request, pk: int):
    invoice = selectors.invoice_for_user(request.user, pk)
    if request.method == "POST":
        try:
            payment = payment_start(
                invoice=invoice, by=request.user, base_url=request.build_absolute_uri("/")
            )
        except FinanceError as exc:
            messages.error(request, str(exc))
            return redirect("finance:invoice_pay", pk=invoice.pk)
        if payment.status == Payment.Status.OPEN and payment.checkout_url:
            return redirect(payment.checkout_url)
        return redirect(payment_return_path(payment))
    payable = _payable(invoice)
    blocked = payment_blocked_by_debit(invoice) if payable else ""
    if blocked:
        # Being collected by direct debit: say when, rather than offer a second payment.
        messages.info(request, blocked)
        payable = False
    return render(
        request,
        "finance/invoice_pay.html",
        {
            "invoice": invoice,
            "payable": payable,
            "demo": settings.PAYMENT_PROVIDER == "demo",
        },
    )


OUTCOMES = {
    Payment.Status.PAID: "paid",
    Payment.Status.OPEN: "processing",
    Payment.Status.PENDING: "processing",
    Payment.Status.FAILED: "failed",
    Payment.Status.CANCELED: "canceled",
    Payment.Status.EXPIRED: "expired",
}


@role_required(Role.MEMBER)
def payment_return(request, pk: int):
    invoice = selectors.invoice_for_user(request.user, pk)
    payments = Payment.objects.filter(invoice=invoice).order_by("-created_at", "-pk")
    wanted = parse_id(request.GET.get("betaling", ""))
    payment = payments.filter(pk=wanted).first() if wanted is not None else None
    payment = payment or payments.first()
    if payment is None:
        return redirect("finance:my_invoices")
    if payment.status in (Payment.Status.OPEN, Payment.Status.PENDING):
        # The webhook may not have come yet (or cannot reach us): ask the provider ourselves.
        try:
            payment_refresh(payment=payment)
        except ProviderError as exc:
            logger.warning("Return page: payment %s could not be looked up: %s", payment.pk, exc)
        payment.refresh_from_db()
        invoice = selectors.invoice_for_user(request.user, pk)
    return render(
        request,
        "finance/payment_return.html",
        {
            "invoice": invoice,
            "payment": payment,
            "outcome": OUTCOMES[payment.status],
            "payable": _payable(invoice),
        },
    )


# The payment provider ----------------------------------------------------------------------------


@public
@csrf_exempt
@require_POST
def payment_webhook(request):
    """Mollie posts `id=tr_…`, unsigned. 200 for everything handled or ignored, 400 for a body we
    cannot read, 503 while we cannot handle it (the provider unreachable, our database down), so
    the provider tries again later."""
    provider_id = request.POST.get("id", "").strip()
    if not _PROVIDER_ID.match(provider_id):
        return HttpResponseBadRequest("Expected a form field id=tr_…\n", content_type="text/plain")
    try:
        payment_webhook_received(provider_id)
    except ProviderError as exc:
        logger.warning(
            "Webhook for %s: provider not reachable, asking for a retry: %s", provider_id, exc
        )
        return HttpResponse("Try again later\n", status=503, content_type="text/plain")
    except DatabaseError:
        logger.exception("Webhook for %s: database error, asking for a retry", provider_id)
        return HttpResponse("Try again later\n", status=503, content_type="text/plain")
    return HttpResponse("OK\n", content_type="text/plain")


@public
@require_http_methods(["GET", "POST"])
def demo_checkout(request, demo_id: str):
    """The demo provider's own checkout page: choose what happens to the payment."""
    if not demo_allowed():
        raise Http404
    row = get_object_or_404(DemoPayment, pk=demo_id)
    if request.method == "POST":
        outcome = request.POST.get("outcome", "")
        try:
            next_url = demo_checkout_complete(demo_id=row.pk, outcome=outcome)
        except ProviderError:
            return HttpResponseBadRequest(_("Kies Betaald, Mislukt of Geannuleerd."))
        if not url_has_allowed_host_and_scheme(
            next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            next_url = reverse("finance:my_invoices")
        return redirect(next_url)
    return render(request, "finance/payment_demo_checkout.html", {"demo": row})


# The treasurer -----------------------------------------------------------------------------------


@role_required(Role.TREASURER)
def payment_list_view(request):
    attention = request.GET.get("aandacht") == "1"
    payments = payment_list(attention_only=attention)
    paginator = Paginator(payments, PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    return render(
        request,
        "finance/payment_list.html",
        {
            "page": page,
            "paginator": paginator,
            "payments": page.object_list,
            "attention": attention,
            "attention_count": payment_list(attention_only=True).count(),
            "overpaid_count": selectors.invoices_overpaid().count() if attention else 0,
            "filter_query": "aandacht=1" if attention else "",
        },
    )


@role_required(Role.TREASURER)
@once_per_form
@require_POST
def payment_refund_view(request, pk: int):
    payment = get_object_or_404(Payment, pk=pk)
    try:
        amount = payment_refund_surplus(payment=payment, by=request.user)
    except FinanceError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            _("%(amount)s is terugbetaald voor factuur %(number)s.")
            % {"amount": format_money(amount), "number": payment.invoice.number},
        )
    return redirect(f"{reverse('finance:payment_list')}?aandacht=1")


@role_required(Role.TREASURER)
@require_POST
def payment_resolve_view(request, pk: int):
    payment = get_object_or_404(Payment, pk=pk)
    try:
        payment_attention_resolve(payment=payment, by=request.user)
    except FinanceError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            _("De betaling voor factuur %(number)s staat op afgehandeld.")
            % {"number": payment.invoice.number},
        )
    return redirect(f"{reverse('finance:payment_list')}?aandacht=1")


urlpatterns = [
    path("mijn/facturen/<int:pk>/betalen/", invoice_pay, name="invoice_pay"),
    path("mijn/facturen/<int:pk>/betaald/", payment_return, name="payment_return"),
    path("betalen/webhook/", payment_webhook, name="payment_webhook"),
    path("betalen/demo/<str:demo_id>/", demo_checkout, name="demo_checkout"),
    path("financien/betalingen/", payment_list_view, name="payment_list"),
    path("financien/betalingen/<int:pk>/terugbetalen/", payment_refund_view, name="payment_refund"),
    path(
        "financien/betalingen/<int:pk>/afgehandeld/", payment_resolve_view, name="payment_resolve"
    ),
]
