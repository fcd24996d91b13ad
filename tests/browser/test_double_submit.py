"""A real browser sends the treasurer's payment form twice: one payment is booked."""

from decimal import Decimal

import pytest

from finance.models import LedgerEntry

from ..conftest import make_persona
from ..factories import MemberFactory
from ..sepa_support import make_invoice
from .conftest import force_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_double_click_and_twice_at_once_book_one_payment(page, live_server):
    invoice = make_invoice(MemberFactory().household, Decimal("20.00"))
    force_login(page, make_persona("treasurer"), live_server)
    url = f"/financien/facturen/{invoice.pk}/betaling/"

    page.goto(url)
    page.get_by_label("Bedrag").fill("10,00")
    with page.expect_navigation(url=f"**/financien/facturen/{invoice.pk}/"):
        page.get_by_role("button", name="Betaling boeken").dblclick()
    assert LedgerEntry.objects.filter(invoice=invoice).count() == 1

    # The same page sent twice at the same moment, token and all, as a browser resending it does.
    page.goto(url)
    page.get_by_label("Bedrag").fill("5,00")
    statuses = page.evaluate(
        """async () => {
            const form = document.querySelector("form[method=post]:has(input[name=form_token])");
            const send = () => fetch(location.href, {method: "POST", body: new FormData(form)});
            const answers = await Promise.all([send(), send()]);
            return answers.map((answer) => answer.status);
        }"""
    )
    assert statuses == [200, 200]  # each followed its redirect to a page
    amounts = sorted(e.amount for e in LedgerEntry.objects.filter(invoice=invoice))
    assert amounts == [Decimal("5.00"), Decimal("10.00")]
