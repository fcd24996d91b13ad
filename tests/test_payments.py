"""Paying online: Mollie (recorded API responses, never the network), the demo provider, the
webhook, refunds and chargebacks, paying twice, receipts, and who may do what."""

import datetime as dt
import json
import logging
import threading
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
import requests
import responses
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from coop.core.models import OutboxMessage
from finance.models import (
    CollectionBatch,
    CollectionItem,
    DemoPayment,
    Invoice,
    InvoiceLine,
    LedgerEntry,
    Mandate,
    Payment,
)
from finance.providers import ProviderUnavailable, provider_get
from finance.services import FinanceError
from finance.services.ledger import invoice_balance, invoice_number_next, ledger_book
from finance.services.payments import (
    payment_refund_surplus,
    payment_start,
    payment_webhook_received,
)
from finance.services.receipts import receipt_queue, receipts_queue
from members.models import Member

from .conftest import make_persona
from .factories import HouseholdFactory, MemberFactory

pytestmark = pytest.mark.django_db

API = "https://api.mollie.com/v2/payments"
SITE = "https://wijkcoop.example.org"
HAL = "application/hal+json"
YEAR = 2025


# Fixtures and recorded responses -------------------------------------------------------------


@pytest.fixture(autouse=True)
def _mollie(settings):
    settings.SITE_URL = SITE
    settings.PAYMENT_PROVIDER = "mollie"
    settings.MOLLIE_API_KEY = "test_dHar4XY7LxsDOtmnkVtjNVWXLSlXsM"
    settings.COOP_DEMO = False
    settings.DEBUG = False


@pytest.fixture
def demo(settings):
    settings.PAYMENT_PROVIDER = "demo"
    settings.COOP_DEMO = True


@pytest.fixture
def mollie():
    """Every HTTP request must match a recorded response; anything else fails (no network)."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mocked:
        yield mocked


def make_invoice(household, *, total=Decimal("17.50"), number=None) -> Invoice:
    sequence, number = invoice_number_next(year=YEAR) if number is None else (0, number)
    invoice = Invoice.objects.create(
        year=YEAR,
        sequence=sequence,
        number=number,
        household=household,
        dues_year=YEAR,
        recipient_name="J. van der Berg",
        street=household.street,
        house_number=str(household.house_number),
        postcode=household.postcode,
        town=household.town,
        issued_on=dt.date(YEAR, 1, 15),
        due_on=dt.date(YEAR, 2, 14),
        total=total,
    )
    if total:
        InvoiceLine.objects.create(
            invoice=invoice, description="Eerste lid", amount=Decimal("10.00")
        )
        InvoiceLine.objects.create(
            invoice=invoice, description="Tweede lid", amount=total - Decimal("10.00")
        )
    return invoice


@pytest.fixture
def member(member_user):
    return Member.objects.get(user=member_user)


@pytest.fixture
def invoice(member):
    return make_invoice(member.household)


@pytest.fixture
def other_invoice():
    return make_invoice(MemberFactory().household)


def mollie_payment(
    id,
    status,
    *,
    amount="17.50",
    refunded="0.00",
    charged_back="0.00",
    invoice=None,
    expires_in=dt.timedelta(minutes=15),
):
    """A payment as Mollie's API returns it (GET/POST /v2/payments), trimmed to the fields
    Mollie documents for an iDEAL payment."""
    now = timezone.now()
    body = {
        "resource": "payment",
        "id": id,
        "mode": "test",
        "createdAt": now.isoformat(timespec="seconds"),
        "amount": {"value": amount, "currency": "EUR"},
        "description": f"Contributie {YEAR} {invoice.number if invoice else '2025-000001'}",
        "method": "ideal",
        "metadata": {
            "invoice_id": invoice.pk if invoice else 1,
            "invoice_number": invoice.number if invoice else "2025-000001",
        },
        "status": status,
        "isCancelable": False,
        "locale": "nl_NL",
        "profileId": "pfl_QkEhN94Ba",
        "sequenceType": "oneoff",
        "redirectUrl": f"{SITE}/mijn/facturen/1/betaald/",
        "webhookUrl": f"{SITE}/betalen/webhook/",
        "_links": {
            "self": {"href": f"{API}/{id}", "type": HAL},
            "dashboard": {
                "href": f"https://my.mollie.com/dashboard/org_12345678/payments/{id}",
                "type": "text/html",
            },
            "documentation": {
                "href": "https://docs.mollie.com/reference/get-payment",
                "type": "text/html",
            },
        },
    }
    if status == "open":
        body["expiresAt"] = (now + expires_in).isoformat(timespec="seconds")
        body["_links"]["checkout"] = {
            "href": f"https://www.mollie.com/checkout/select-issuer/ideal/{id[3:]}",
            "type": "text/html",
        }
    if status == "paid":
        body["paidAt"] = now.isoformat(timespec="seconds")
        body["amountRefunded"] = {"value": refunded, "currency": "EUR"}
        body["amountRemaining"] = {
            "value": f"{Decimal(amount) - Decimal(refunded) + Decimal('25.00'):.2f}",
            "currency": "EUR",
        }
        body["settlementAmount"] = {"value": amount, "currency": "EUR"}
        body["details"] = {
            "consumerName": "J. van der Berg",
            "consumerAccount": "NL91ABNA0417164300",
            "consumerBic": "ABNANL2A",
        }
        if Decimal(refunded):
            body["_links"]["refunds"] = {"href": f"{API}/{id}/refunds", "type": HAL}
        if Decimal(charged_back):
            body["amountChargedBack"] = {"value": charged_back, "currency": "EUR"}
            body["_links"]["chargebacks"] = {"href": f"{API}/{id}/chargebacks", "type": HAL}
    for final in ("failed", "canceled", "expired"):
        if status == final:
            body[f"{final}At"] = now.isoformat(timespec="seconds")
    return body


def mollie_refund(payment_id, amount):
    return {
        "resource": "refund",
        "id": "re_4qqhO89gsT",
        "mode": "test",
        "amount": {"value": amount, "currency": "EUR"},
        "status": "pending",
        "createdAt": timezone.now().isoformat(timespec="seconds"),
        "description": "Terugbetaling: dubbel betaald",
        "metadata": None,
        "paymentId": payment_id,
        "settlementAmount": {"value": f"-{amount}", "currency": "EUR"},
        "_links": {
            "self": {"href": f"{API}/{payment_id}/refunds/re_4qqhO89gsT", "type": HAL},
            "payment": {"href": f"{API}/{payment_id}", "type": HAL},
            "documentation": {
                "href": "https://docs.mollie.com/reference/create-refund",
                "type": "text/html",
            },
        },
    }


def mollie_error(status, title, detail, field=None):
    body = {
        "status": status,
        "title": title,
        "detail": detail,
        "_links": {
            "documentation": {
                "href": "https://docs.mollie.com/overview/handling-errors",
                "type": "text/html",
            }
        },
    }
    if field:
        body["field"] = field
    return body


def on_mollie(mocked, id, *statuses, **kwargs):
    """Mollie answers GET /v2/payments/<id> with these, in this order (the last repeats)."""
    for status in statuses:
        mocked.get(f"{API}/{id}", json=mollie_payment(id, status, **kwargs), content_type=HAL)


def paid_at_mollie(invoice, id="tr_WDqYK6vllg", *, amount=None, by=None) -> Payment:
    """A payment we started earlier and Mollie knows as `id`."""
    return Payment.objects.create(
        invoice=invoice,
        provider="mollie",
        provider_id=id,
        amount=amount or invoice_balance(invoice),
        checkout_url=f"https://www.mollie.com/checkout/select-issuer/ideal/{id[3:]}",
    )


def webhook(client, id):
    return client.post(reverse("finance:payment_webhook"), {"id": id})


def ideal_entries(invoice):
    return list(
        LedgerEntry.objects.filter(invoice=invoice, source=LedgerEntry.Source.IDEAL).order_by("pk")
    )


def receipts():
    return OutboxMessage.objects.filter(key__startswith="finance.receipt:")


# Starting a payment ---------------------------------------------------------------------------


def test_paying_sends_the_member_to_mollie(member_client, invoice, mollie):
    created = mollie_payment("tr_WDqYK6vllg", "open", invoice=invoice)
    mollie.post(API, json=created, status=201, content_type=HAL)

    page = member_client.get(reverse("finance:invoice_pay", args=[invoice.pk]))
    assert page.status_code == 200
    assert "€ 17,50" in page.content.decode()

    response = member_client.post(reverse("finance:invoice_pay", args=[invoice.pk]))

    assert response.status_code == 302
    assert response["Location"] == created["_links"]["checkout"]["href"]
    sent = json.loads(mollie.calls[0].request.body)
    payment = Payment.objects.get(invoice=invoice)
    assert sent["amount"] == {"currency": "EUR", "value": "17.50"}
    assert sent["description"] == f"Contributie {YEAR} {invoice.number}"
    assert sent["method"] == "ideal"
    assert sent["metadata"]["invoice_id"] == invoice.pk
    assert sent["metadata"]["invoice_number"] == invoice.number
    assert sent["webhookUrl"] == f"{SITE}/betalen/webhook/"
    assert sent["redirectUrl"] == (
        f"http://testserver/mijn/facturen/{invoice.pk}/betaald/?betaling={payment.pk}"
    )
    assert mollie.calls[0].request.headers["Authorization"].startswith("Bearer test_")
    assert (payment.provider, payment.provider_id, payment.status, payment.amount) == (
        "mollie",
        "tr_WDqYK6vllg",
        Payment.Status.OPEN,
        Decimal("17.50"),
    )
    assert not LedgerEntry.objects.exists()


def test_a_second_tab_gets_the_payment_already_open(member_client, invoice, mollie):
    created = mollie_payment("tr_WDqYK6vllg", "open", invoice=invoice)
    mollie.post(API, json=created, status=201, content_type=HAL)
    on_mollie(mollie, "tr_WDqYK6vllg", "open", invoice=invoice)
    url = reverse("finance:invoice_pay", args=[invoice.pk])

    first = member_client.post(url)
    second = member_client.post(url)

    assert first["Location"] == second["Location"] == created["_links"]["checkout"]["href"]
    assert Payment.objects.filter(invoice=invoice).count() == 1
    assert [c.request.method for c in mollie.calls] == ["POST", "GET"]


def test_an_expired_or_changed_payment_is_not_reused(member, invoice, mollie):
    old = paid_at_mollie(invoice, "tr_expired01")
    on_mollie(mollie, "tr_expired01", "open", invoice=invoice, expires_in=dt.timedelta(seconds=30))
    mollie.post(API, json=mollie_payment("tr_new00001", "open", invoice=invoice), status=201)

    payment = payment_start(invoice=invoice, by=member.user, base_url=SITE)

    assert payment.pk != old.pk
    assert payment.provider_id == "tr_new00001"


def test_a_payment_the_bank_is_processing_blocks_a_second(member_client, invoice, mollie):
    pending = paid_at_mollie(invoice, "tr_pending01")
    on_mollie(mollie, "tr_pending01", "pending", invoice=invoice)

    response = member_client.post(reverse("finance:invoice_pay", args=[invoice.pk]))

    assert response["Location"] == (
        reverse("finance:payment_return", args=[invoice.pk]) + f"?betaling={pending.pk}"
    )
    assert Payment.objects.filter(invoice=invoice).count() == 1
    page = member_client.get(response["Location"])
    assert "Uw betaling wordt nog verwerkt" in page.content.decode()


def test_a_payment_that_turned_out_paid_is_not_started_again(member_client, invoice, mollie):
    paid_at_mollie(invoice, "tr_paidlate1")
    on_mollie(mollie, "tr_paidlate1", "paid", invoice=invoice)

    response = member_client.post(reverse("finance:invoice_pay", args=[invoice.pk]), follow=True)

    assert "<h1>Betaald</h1>" in response.content.decode()
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    assert Payment.objects.filter(invoice=invoice).count() == 1


def test_zero_balance_is_a_clear_error(member):
    free = make_invoice(member.household, total=Decimal("0.00"))

    with pytest.raises(FinanceError, match="staat niets meer open"):
        payment_start(invoice=free, by=member.user, base_url=SITE)
    assert not Payment.objects.exists()


def test_a_paid_invoice_cannot_be_paid_again(member_client, member, invoice):
    ledger_book(
        invoice=invoice,
        kind="payment",
        source="transfer",
        external_id="bank-1",
        amount=Decimal("17.50"),
    )

    with pytest.raises(FinanceError, match="hoeft niet"):
        payment_start(invoice=invoice, by=member.user, base_url=SITE)
    page = member_client.get(reverse("finance:invoice_pay", args=[invoice.pk]))
    assert "hoeft u nu niets te betalen" in page.content.decode()
    assert "<form" not in page.content.decode().split("<main", 1)[1].split("</main>")[0]


def test_a_partly_paid_invoice_asks_for_the_rest(member, invoice, mollie):
    ledger_book(
        invoice=invoice,
        kind="payment",
        source="transfer",
        external_id="bank-1",
        amount=Decimal("10.00"),
    )
    mollie.post(API, json=mollie_payment("tr_rest0001", "open", amount="7.50"), status=201)

    payment = payment_start(invoice=invoice, by=member.user, base_url=SITE)

    assert payment.amount == Decimal("7.50")
    assert json.loads(mollie.calls[0].request.body)["amount"]["value"] == "7.50"


def test_no_ideal_while_a_direct_debit_runs(member, invoice):
    mandate = Mandate.objects.create(
        household=member.household,
        reference="WC-1",
        iban="NL91ABNA0417164300",
        account_holder="J. van der Berg",
        signed_on=dt.date(YEAR, 1, 1),
    )
    batch = CollectionBatch.objects.create(
        collection_date=dt.date(YEAR, 3, 1),
        message_id="WC-BATCH-1",
        schema_version="pain.008.001.02",
    )
    CollectionItem.objects.create(
        batch=batch,
        invoice=invoice,
        mandate=mandate,
        amount=Decimal("17.50"),
        end_to_end_id="E2E-1",
    )

    with pytest.raises(FinanceError, match="automatisch van uw rekening"):
        payment_start(invoice=invoice, by=member.user, base_url=SITE)


def test_mollie_down_when_starting(member_client, invoice, mollie):
    mollie.post(API, body=requests.ConnectionError("connection refused"))

    response = member_client.post(reverse("finance:invoice_pay", args=[invoice.pk]), follow=True)

    assert "Het lukte niet om de betaling te starten" in response.content.decode()
    assert not Payment.objects.exists()


def test_only_the_own_household_may_pay(client, member_client, member, other_invoice):
    for name in ("finance:invoice_pay", "finance:payment_return"):
        assert member_client.get(reverse(name, args=[other_invoice.pk])).status_code == 404
    assert (
        member_client.post(reverse("finance:invoice_pay", args=[other_invoice.pk])).status_code
        == 404
    )
    with pytest.raises(FinanceError):
        payment_start(invoice=other_invoice, by=member.user, base_url=SITE)

    anonymous = client.__class__().get(reverse("finance:invoice_pay", args=[other_invoice.pk]))
    assert anonymous.status_code == 302
    outsider = client.__class__()
    outsider.force_login(make_persona("outsider"))
    assert outsider.get(reverse("finance:invoice_pay", args=[other_invoice.pk])).status_code == 403
    assert not Payment.objects.exists()


def test_my_invoices_links_to_paying(member_client, invoice):
    page = member_client.get(reverse("finance:my_invoices")).content.decode()
    assert reverse("finance:invoice_pay", args=[invoice.pk]) in page


# The webhook ------------------------------------------------------------------------------------


def test_the_same_webhook_five_times_and_out_of_order_books_once(client, invoice, mollie):
    payment = paid_at_mollie(invoice)
    on_mollie(mollie, payment.provider_id, "paid", "paid", "open", "paid", "open", invoice=invoice)

    answers = [webhook(client, payment.provider_id).status_code for _ in range(5)]

    assert answers == [200] * 5
    assert len(mollie.calls) == 5  # fetched every time, never trusted the post
    [entry] = ideal_entries(invoice)
    assert (entry.kind, entry.amount, entry.external_id) == (
        LedgerEntry.Kind.PAYMENT,
        Decimal("17.50"),
        "mollie:tr_WDqYK6vllg",
    )
    payment.refresh_from_db()
    invoice.refresh_from_db()
    assert payment.status == Payment.Status.PAID  # a late "open" did not move it back
    assert invoice.status == Invoice.Status.PAID
    assert invoice_balance(invoice) == Decimal("0.00")
    assert receipts().count() == 1


def test_an_unknown_id_is_answered_and_ignored(client, invoice, mollie, caplog):
    with caplog.at_level(logging.WARNING, logger="finance.services.payments"):
        response = webhook(client, "tr_neverMadeByUs")

    assert response.status_code == 200
    assert not mollie.calls
    assert not LedgerEntry.objects.exists()
    assert "unknown payment" in caplog.text


@pytest.mark.parametrize(
    "body", [{}, {"id": ""}, {"id": "tr_x; DROP TABLE"}, {"id": "x" * 101}, {"other": "tr_1"}]
)
def test_a_malformed_webhook_is_refused(client, body, mollie):
    response = client.post(reverse("finance:payment_webhook"), body)
    assert response.status_code == 400
    assert not mollie.calls


def test_the_webhook_takes_posts_only_and_needs_no_csrf(client, invoice, mollie):
    assert client.get(reverse("finance:payment_webhook")).status_code == 405
    payment = paid_at_mollie(invoice)
    on_mollie(mollie, payment.provider_id, "paid", invoice=invoice)
    strict = client.__class__(enforce_csrf_checks=True)
    assert webhook(strict, payment.provider_id).status_code == 200
    assert len(ideal_entries(invoice)) == 1


@pytest.mark.parametrize("status", ["failed", "expired", "canceled"])
def test_a_payment_that_did_not_happen_books_nothing(client, invoice, mollie, status):
    payment = paid_at_mollie(invoice)
    on_mollie(mollie, payment.provider_id, status, "open", invoice=invoice)

    assert webhook(client, payment.provider_id).status_code == 200
    assert webhook(client, payment.provider_id).status_code == 200

    payment.refresh_from_db()
    invoice.refresh_from_db()
    assert payment.status == status
    assert invoice.status == Invoice.Status.OPEN
    assert not LedgerEntry.objects.exists()
    assert not receipts().exists()


def test_paid_after_all_wins_over_failed(client, invoice, mollie):
    payment = paid_at_mollie(invoice)
    on_mollie(mollie, payment.provider_id, "expired", "paid", invoice=invoice)

    webhook(client, payment.provider_id)
    webhook(client, payment.provider_id)

    payment.refresh_from_db()
    assert payment.status == Payment.Status.PAID
    assert len(ideal_entries(invoice)) == 1


def test_mollie_unreachable_asks_for_a_retry(client, invoice, mollie):
    payment = paid_at_mollie(invoice)
    mollie.get(f"{API}/{payment.provider_id}", body=requests.ConnectionError("timeout"))
    on_mollie(mollie, payment.provider_id, "paid", invoice=invoice)

    assert webhook(client, payment.provider_id).status_code == 503
    assert not LedgerEntry.objects.exists()
    assert webhook(client, payment.provider_id).status_code == 200
    assert len(ideal_entries(invoice)) == 1


def test_mollie_not_knowing_a_payment_is_answered(client, invoice, mollie):
    payment = paid_at_mollie(invoice)
    mollie.get(
        f"{API}/{payment.provider_id}",
        json=mollie_error(404, "Not Found", "No payment exists with token tr_WDqYK6vllg."),
        status=404,
        content_type=HAL,
    )

    assert webhook(client, payment.provider_id).status_code == 200
    assert not LedgerEntry.objects.exists()


def test_a_refund_reopens_the_invoice(client, invoice, mollie):
    payment = paid_at_mollie(invoice)
    on_mollie(mollie, payment.provider_id, "paid", invoice=invoice)
    on_mollie(mollie, payment.provider_id, "paid", refunded="5.00", invoice=invoice)
    on_mollie(mollie, payment.provider_id, "paid", refunded="17.50", invoice=invoice)

    for expected_balance in ("0.00", "5.00", "17.50", "17.50"):
        assert webhook(client, payment.provider_id).status_code == 200
        assert invoice_balance(invoice) == Decimal(expected_balance)

    entries = ideal_entries(invoice)
    assert [(e.kind, e.amount, e.external_id) for e in entries] == [
        (LedgerEntry.Kind.PAYMENT, Decimal("17.50"), "mollie:tr_WDqYK6vllg"),
        (LedgerEntry.Kind.REFUND, Decimal("-5.00"), "mollie:tr_WDqYK6vllg:refund:5.00"),
        (LedgerEntry.Kind.REFUND, Decimal("-12.50"), "mollie:tr_WDqYK6vllg:refund:17.50"),
    ]
    assert entries[1].reverses == entries[0]
    invoice.refresh_from_db()
    payment.refresh_from_db()
    assert invoice.status == Invoice.Status.OPEN
    assert payment.amount_refunded == Decimal("17.50")
    assert payment.status == Payment.Status.PAID
    assert receipts().count() == 1


def test_a_chargeback_reopens_the_invoice_and_is_flagged(client, invoice, mollie):
    payment = paid_at_mollie(invoice)
    on_mollie(mollie, payment.provider_id, "paid", invoice=invoice)
    on_mollie(mollie, payment.provider_id, "paid", charged_back="17.50", invoice=invoice)

    for _ in range(3):
        assert webhook(client, payment.provider_id).status_code == 200

    entries = ideal_entries(invoice)
    assert [(e.kind, e.amount) for e in entries] == [
        (LedgerEntry.Kind.PAYMENT, Decimal("17.50")),
        (LedgerEntry.Kind.REVERSAL, Decimal("-17.50")),
    ]
    assert entries[1].external_id == "mollie:tr_WDqYK6vllg:chargeback:17.50"
    invoice.refresh_from_db()
    payment.refresh_from_db()
    assert invoice.status == Invoice.Status.OPEN
    assert invoice_balance(invoice) == Decimal("17.50")
    assert payment.amount_charged_back == Decimal("17.50")
    assert "Teruggeboekt door de bank" in payment.needs_attention


def test_refunds_and_chargeback_in_one_report_of_a_first_webhook(client, invoice, mollie):
    """The first webhook we see may already carry a refund: book the payment, then the refund."""
    payment = paid_at_mollie(invoice)
    on_mollie(mollie, payment.provider_id, "paid", refunded="7.50", invoice=invoice)

    webhook(client, payment.provider_id)

    assert [e.amount for e in ideal_entries(invoice)] == [Decimal("17.50"), Decimal("-7.50")]
    assert invoice_balance(invoice) == Decimal("7.50")


# Paying twice ----------------------------------------------------------------------------------


def test_two_tabs_both_paid_books_the_second_flags_it_and_refunds(
    client, invoice, mollie, treasurer, django_capture_on_commit_callbacks
):
    first = paid_at_mollie(invoice, "tr_firstTab01")
    second = paid_at_mollie(invoice, "tr_secondTab1")
    on_mollie(mollie, first.provider_id, "paid", invoice=invoice)
    on_mollie(mollie, second.provider_id, "paid", invoice=invoice)
    mollie.post(
        f"{API}/{second.provider_id}/refunds",
        json=mollie_refund(second.provider_id, "17.50"),
        status=201,
        content_type=HAL,
    )
    on_mollie(mollie, second.provider_id, "paid", refunded="17.50", invoice=invoice)

    webhook(client, first.provider_id)
    with django_capture_on_commit_callbacks(execute=True):
        webhook(client, second.provider_id)
    webhook(client, second.provider_id)  # Mollie calls again after the refund: nothing new

    refund_call = next(c for c in mollie.calls if c.request.method == "POST")
    assert json.loads(refund_call.request.body)["amount"] == {"currency": "EUR", "value": "17.50"}
    assert refund_call.request.headers["Idempotency-Key"] == f"coop-surplus-{second.pk}-17.50"
    entries = ideal_entries(invoice)
    assert [(e.kind, e.amount, e.external_id) for e in entries] == [
        (LedgerEntry.Kind.PAYMENT, Decimal("17.50"), "mollie:tr_firstTab01"),
        (LedgerEntry.Kind.PAYMENT, Decimal("17.50"), "mollie:tr_secondTab1"),
        (LedgerEntry.Kind.REFUND, Decimal("-17.50"), "mollie:tr_secondTab1:refund:17.50"),
    ]
    invoice.refresh_from_db()
    first.refresh_from_db()
    second.refresh_from_db()
    assert invoice_balance(invoice) == Decimal("0.00")
    assert invoice.status == Invoice.Status.PAID
    assert first.needs_attention == ""
    assert "Dubbel betaald" in second.needs_attention
    assert "terugbetaald via de betaaldienst" in second.needs_attention

    client.force_login(treasurer)
    page = client.get(reverse("finance:payment_list") + "?aandacht=1").content.decode()
    assert invoice.number in page
    assert "Dubbel betaald" in page
    assert "tr_firstTab01" not in page


def test_the_surplus_refund_is_a_task_after_the_webhook_and_harmless_twice(
    client, invoice, mollie, django_capture_on_commit_callbacks
):
    from finance.tasks import payment_refund_surplus_task

    first = paid_at_mollie(invoice, "tr_firstTab01")
    second = paid_at_mollie(invoice, "tr_secondTab1")
    on_mollie(mollie, first.provider_id, "paid", invoice=invoice)
    on_mollie(mollie, second.provider_id, "paid", invoice=invoice)
    mollie.post(
        f"{API}/{second.provider_id}/refunds",
        json=mollie_refund(second.provider_id, "17.50"),
        status=201,
        content_type=HAL,
    )
    on_mollie(mollie, second.provider_id, "paid", refunded="17.50", invoice=invoice)
    webhook(client, first.provider_id)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = webhook(client, second.provider_id)
    assert response.status_code == 200
    # The webhook itself never asked Mollie for a refund: that waits for the queued task.
    assert not [c for c in mollie.calls if c.request.method == "POST"]
    assert invoice_balance(invoice) == Decimal("-17.50")

    for callback in callbacks:
        callback()
    assert payment_refund_surplus_task(second.pk) == "0.00"  # run again: nothing more
    refunds = [c for c in mollie.calls if c.request.method == "POST"]
    assert len(refunds) == 1
    assert invoice_balance(invoice) == Decimal("0.00")
    second.refresh_from_db()
    assert "niets terug te betalen" not in second.needs_attention


def test_paid_twice_and_the_refund_fails_waits_for_the_treasurer(
    client, invoice, mollie, treasurer, django_capture_on_commit_callbacks
):
    first = paid_at_mollie(invoice, "tr_firstTab01")
    second = paid_at_mollie(invoice, "tr_secondTab1")
    on_mollie(mollie, first.provider_id, "paid", invoice=invoice)
    on_mollie(mollie, second.provider_id, "paid", invoice=invoice)
    refunds_url = f"{API}/{second.provider_id}/refunds"
    mollie.post(
        refunds_url,
        json=mollie_error(
            422,
            "Unprocessable Entity",
            "The refund amount exceeds the balance available for refunds.",
            field="amount",
        ),
        status=422,
        content_type=HAL,
    )

    webhook(client, first.provider_id)
    with django_capture_on_commit_callbacks(execute=True):
        webhook(client, second.provider_id)

    second.refresh_from_db()
    invoice.refresh_from_db()
    assert invoice_balance(invoice) == Decimal("-17.50")  # not hidden: the surplus shows
    assert invoice.status == Invoice.Status.PAID
    assert "Dubbel betaald" in second.needs_attention
    assert "lukte niet" in second.needs_attention

    client.force_login(treasurer)
    listed = client.get(reverse("finance:payment_list") + "?aandacht=1").content.decode()
    assert "lukte niet" in listed
    assert reverse("finance:payment_refund", args=[second.pk]) in listed

    # The treasurer topped up the Mollie balance and tries again.
    mollie.replace(
        responses.POST,
        refunds_url,
        json=mollie_refund(second.provider_id, "17.50"),
        status=201,
        content_type=HAL,
    )
    mollie.upsert(
        responses.GET,
        f"{API}/{second.provider_id}",
        json=mollie_payment(second.provider_id, "paid", refunded="17.50", invoice=invoice),
        content_type=HAL,
    )
    response = client.post(reverse("finance:payment_refund", args=[second.pk]), follow=True)
    assert "is terugbetaald" in response.content.decode()
    assert invoice_balance(invoice) == Decimal("0.00")

    client.post(reverse("finance:payment_resolve", args=[second.pk]))
    second.refresh_from_db()
    assert second.needs_attention == ""
    listed = client.get(reverse("finance:payment_list") + "?aandacht=1").content.decode()
    assert "Er zijn geen betalingen die aandacht vragen" in listed


def test_paid_by_bank_meanwhile_the_online_payment_is_booked_and_flagged(client, invoice, mollie):
    payment = paid_at_mollie(invoice)
    ledger_book(
        invoice=invoice,
        kind="payment",
        source="transfer",
        external_id="bank-1",
        amount=Decimal("17.50"),
    )
    on_mollie(mollie, payment.provider_id, "paid", invoice=invoice)

    webhook(client, payment.provider_id)  # no on_commit here: the refund is not tried

    payment.refresh_from_db()
    assert len(ideal_entries(invoice)) == 1
    assert invoice_balance(invoice) == Decimal("-17.50")
    assert "Dubbel betaald: € 17,50" in payment.needs_attention
    with pytest.raises(FinanceError, match="terugbetalen"):
        # Mollie refuses; the treasurer sees why.
        mollie.post(
            f"{API}/{payment.provider_id}/refunds",
            json=mollie_error(422, "Unprocessable Entity", "Refunds are disabled."),
            status=422,
            content_type=HAL,
        )
        payment_refund_surplus(payment=payment, by=None)


def test_nothing_to_refund_when_the_invoice_is_not_overpaid(invoice, mollie):
    payment = paid_at_mollie(invoice)
    on_mollie(mollie, payment.provider_id, "paid", invoice=invoice)
    payment_webhook_received(payment.provider_id)

    with pytest.raises(FinanceError, match="niets terug te betalen"):
        payment_refund_surplus(payment=Payment.objects.get(pk=payment.pk), by=None)
    assert not [c for c in mollie.calls if c.request.method == "POST"]


@pytest.mark.django_db(transaction=True)
def test_two_webhooks_at_the_same_time_book_once(on_postgres, mollie):
    household = HouseholdFactory()
    MemberFactory(household=household)
    invoice = make_invoice(household)
    payment = paid_at_mollie(invoice)
    on_mollie(mollie, payment.provider_id, "paid", invoice=invoice)
    start = threading.Barrier(2)
    errors = []

    def deliver():
        try:
            start.wait(timeout=10)
            payment_webhook_received(payment.provider_id)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert len(mollie.calls) == 2
    assert len(ideal_entries(invoice)) == 1
    assert receipts().count() == 1
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID


# The return page ---------------------------------------------------------------------------------


def test_the_return_page_asks_mollie_when_the_webhook_has_not_come(member_client, invoice, mollie):
    payment = paid_at_mollie(invoice)
    on_mollie(mollie, payment.provider_id, "paid", invoice=invoice)

    page = member_client.get(
        reverse("finance:payment_return", args=[invoice.pk]) + f"?betaling={payment.pk}"
    )

    assert "<h1>Betaald</h1>" in page.content.decode()
    assert len(ideal_entries(invoice)) == 1
    # Already paid: the page does not ask again.
    member_client.get(reverse("finance:payment_return", args=[invoice.pk]))
    assert len(mollie.calls) == 1


def test_the_return_page_after_a_failed_payment_offers_to_try_again(member_client, invoice, mollie):
    payment = paid_at_mollie(invoice)
    on_mollie(mollie, payment.provider_id, "failed", invoice=invoice)

    page = member_client.get(reverse("finance:payment_return", args=[invoice.pk])).content.decode()

    assert "Betalen is niet gelukt" in page
    assert "Er is geen geld afgeschreven" in page
    assert reverse("finance:invoice_pay", args=[invoice.pk]) in page


def test_the_return_page_when_mollie_is_slow(member_client, invoice, mollie):
    paid_at_mollie(invoice)
    mollie.get(f"{API}/tr_WDqYK6vllg", body=requests.ConnectionError("timeout"))

    page = member_client.get(reverse("finance:payment_return", args=[invoice.pk]))

    assert page.status_code == 200
    assert "Uw betaling wordt nog verwerkt" in page.content.decode()


# The demo provider -------------------------------------------------------------------------------


def test_demo_full_flow_through_the_pages(member_client, invoice, demo):
    start = member_client.post(reverse("finance:invoice_pay", args=[invoice.pk]))
    checkout = urlsplit(start["Location"])
    assert checkout.netloc == "testserver"
    row = DemoPayment.objects.get()
    assert checkout.path == reverse("finance:demo_checkout", args=[row.pk])
    assert row.amount == Decimal("17.50")
    assert row.description == f"Contributie {YEAR} {invoice.number}"

    page = member_client.get(checkout.path).content.decode()
    assert "€ 17,50" in page
    for label in ("Betaald", "Mislukt", "Geannuleerd"):
        assert f">{label}</button>" in page

    back = member_client.post(checkout.path, {"outcome": "paid"})
    payment = Payment.objects.get()
    assert back["Location"] == (
        f"http://testserver{reverse('finance:payment_return', args=[invoice.pk])}"
        f"?betaling={payment.pk}"
    )
    result = member_client.get(back["Location"]).content.decode()
    assert "<h1>Betaald</h1>" in result

    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    [entry] = ideal_entries(invoice)
    assert entry.external_id == f"demo:{row.pk}"
    assert receipts().count() == 1
    # Pressing again (the back button) changes nothing.
    member_client.post(checkout.path, {"outcome": "failed"})
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PAID
    assert len(ideal_entries(invoice)) == 1


@pytest.mark.parametrize("outcome", ["failed", "canceled"])
def test_demo_failed_then_paid(member_client, invoice, demo, outcome):
    start = member_client.post(reverse("finance:invoice_pay", args=[invoice.pk]))
    back = member_client.post(start["Location"], {"outcome": outcome}, follow=True)
    assert "Er is geen geld afgeschreven" in back.content.decode()
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.OPEN

    again = member_client.post(reverse("finance:invoice_pay", args=[invoice.pk]))
    assert again["Location"] != start["Location"]
    member_client.post(again["Location"], {"outcome": "paid"})

    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    assert Payment.objects.filter(invoice=invoice).count() == 2
    assert len(ideal_entries(invoice)) == 1


def test_demo_refund_of_a_double_payment(
    member, invoice, demo, client, django_capture_on_commit_callbacks
):
    first = payment_start(invoice=invoice, by=member.user, base_url="http://testserver")
    # A payment started before the first was seen (say, another device): the demo allows it.
    second = Payment.objects.create(invoice=invoice, provider="demo", amount=Decimal("17.50"))
    remote = provider_get("demo").create_payment(
        amount=Decimal("17.50"),
        description="x",
        redirect_url="http://testserver/",
        webhook_url="",
        metadata={},
    )
    Payment.objects.filter(pk=second.pk).update(provider_id=remote.id)
    client.post(reverse("finance:demo_checkout", args=[first.provider_id]), {"outcome": "paid"})
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("finance:demo_checkout", args=[remote.id]), {"outcome": "paid"})

    assert DemoPayment.objects.get(pk=remote.id).amount_refunded == Decimal("17.50")
    assert invoice_balance(invoice) == Decimal("0.00")
    assert [e.kind for e in ideal_entries(invoice)] == ["payment", "payment", "refund"]


def test_the_demo_refuses_in_production(member_client, member, invoice, settings):
    settings.PAYMENT_PROVIDER = "demo"
    settings.DEBUG = False
    settings.COOP_DEMO = False

    with pytest.raises(ProviderUnavailable):
        provider_get()
    with pytest.raises(FinanceError, match="niet mogelijk"):
        payment_start(invoice=invoice, by=member.user, base_url=SITE)
    response = member_client.post(reverse("finance:invoice_pay", args=[invoice.pk]), follow=True)
    assert "Online betalen is op dit moment niet mogelijk" in response.content.decode()
    assert not Payment.objects.exists()
    assert not DemoPayment.objects.exists()

    # A demo payment left over from before cannot be completed either.
    row = DemoPayment.objects.create(
        id="demo_left_over",
        amount=Decimal("17.50"),
        description="x",
        redirect_url="http://testserver/",
        expires_at=timezone.now() + dt.timedelta(minutes=5),
    )
    Payment.objects.create(
        invoice=invoice, provider="demo", provider_id=row.pk, amount=Decimal("17.50")
    )
    url = reverse("finance:demo_checkout", args=[row.pk])
    assert member_client.get(url).status_code == 404
    assert member_client.post(url, {"outcome": "paid"}).status_code == 404
    DemoPayment.objects.filter(pk=row.pk).update(status="paid")
    assert webhook(member_client, row.pk).status_code == 200
    assert not LedgerEntry.objects.exists()


def test_demo_allowed_with_debug(settings, member, invoice):
    settings.PAYMENT_PROVIDER = "demo"
    settings.DEBUG = True
    settings.COOP_DEMO = False
    payment = payment_start(invoice=invoice, by=member.user, base_url="http://testserver")
    assert payment.provider == "demo"
    assert payment.checkout_url.startswith("http://testserver/betalen/demo/demo_")


def test_a_demo_checkout_that_expired(member_client, invoice, demo):
    start = member_client.post(reverse("finance:invoice_pay", args=[invoice.pk]))
    DemoPayment.objects.update(expires_at=timezone.now() - dt.timedelta(minutes=1))

    back = member_client.post(start["Location"], {"outcome": "paid"}, follow=True)

    assert "Betaling verlopen" in back.content.decode()
    assert not LedgerEntry.objects.exists()


def test_a_demo_checkout_with_a_made_up_outcome(member_client, invoice, demo):
    start = member_client.post(reverse("finance:invoice_pay", args=[invoice.pk]))
    assert member_client.post(start["Location"], {"outcome": "free"}).status_code == 400
    assert (
        member_client.get(reverse("finance:demo_checkout", args=["demo_nope"])).status_code == 404
    )


# Receipts ---------------------------------------------------------------------------------------


def test_receipts_exactly_once_by_email_or_letter(invoice, member):
    entry, _ = ledger_book(
        invoice=invoice,
        kind="payment",
        source="transfer",
        external_id="bank-9",
        amount=Decimal("17.50"),
    )
    first = receipt_queue(entry=entry)
    again = receipt_queue(entry=entry)
    assert first.pk == again.pk
    assert receipts_queue(entries=[entry]) == 0
    assert first.key == f"finance.receipt:{entry.pk}"
    assert first.channel == OutboxMessage.Channel.EMAIL
    assert first.to_email == member.email
    assert invoice.number in first.subject
    assert "€ 17,50" in first.body_text
    assert "helemaal betaald" in first.body_text
    assert "€ 17,50" in first.body_html

    reversal, _ = ledger_book(
        invoice=invoice,
        kind="reversal",
        source="transfer",
        external_id="bank-9:r",
        amount=Decimal("-17.50"),
    )
    assert receipt_queue(entry=reversal) is None

    offline = MemberFactory(email="", contact_preference=Member.ContactPreference.LETTER)
    other = make_invoice(offline.household)
    entries = [
        ledger_book(
            invoice=other,
            kind="payment",
            source="sepa",
            external_id=f"e2e-{n}",
            amount=Decimal(amount),
        )[0]
        for n, amount in enumerate(["10.00", "7.50"])
    ]
    assert receipts_queue(entries=entries) == 2
    assert receipts_queue(entries=entries) == 0
    letters = receipts().filter(channel=OutboxMessage.Channel.LETTER)
    assert letters.count() == 2
    assert all(offline.household.street in m.to_address for m in letters)
    assert receipts().count() == 3
