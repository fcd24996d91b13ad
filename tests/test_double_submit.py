"""Double submissions: a form that creates something, sent twenty times, makes one record.

Each protected page is opened as a browser would, its one-time token read from the HTML, and the
same form sent twenty times with that token (a double click, a reload, a browser sending it
again). Forms that are idempotent by design are sent twenty times with the same data.
"""

import datetime as dt
import re
import threading
from dataclasses import dataclass, field
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.urls import URLResolver, get_resolver, reverse
from django.utils import timezone

from coop.celery import app as celery_app
from coop.core.form_tokens import FORM_TOKEN_FIELD, FORM_TOKEN_MAX_AGE, form_token_new
from coop.core.models import FormSubmission
from coop.core.services import form_submissions_purge
from finance.models import (
    BankStatement,
    BankTransaction,
    CallNote,
    CollectionBatch,
    ContributionScheme,
    Invoice,
    LedgerEntry,
    Mandate,
    Payment,
    Refund,
)
from finance.services.dues import scheme_create
from finance.services.invoices import payment_record_manual
from finance.services.ledger import invoice_balance
from finance.services.payments import demo_checkout_complete, payment_start
from finance.services.sepa import batch_create, batch_prenotify
from finance.views import statements
from members.imports import member_import_upload
from members.models import (
    AddressChange,
    Buurt,
    Consent,
    Household,
    Member,
    MemberImport,
    MembershipNotice,
    Move,
    PostcodeRange,
    StatusChange,
)
from members.services import buurt_create, membership_notice_give
from members.views import imports as member_imports

from .conftest import make_persona
from .factories import ConsentTextFactory, HouseholdFactory, MemberFactory
from .sepa_support import FIXTURES, exported_batch, household_with_mandate, make_invoice

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 23)
TIMES = 20
ALREADY_SENT = "Dit formulier was al verstuurd. Er is niets dubbel opgeslagen."
REFUSED = "Dit formulier stond te lang open of was niet compleet."

# Every view that takes a one-time form token. A new form that creates something belongs here,
# with a case below.
PROTECTED = {
    "members:member_create",
    "members:member_status",
    "members:member_move",
    "members:buurt_list",
    "members:buurt_detail",
    "members:member_import",
    "members:housemate_add",
    "members:consent_give",
    "members:notice_give",
    "members:member_notice",
    "finance:scheme_create",
    "finance:dues_run",
    "finance:invoice_credit",
    "finance:invoice_write_off",
    "finance:invoice_payment_manual",
    "finance:ledger_entry_reverse",
    "finance:invoice_overpaid",
    "finance:payment_refund",
    "finance:mandate_record_paper",
    "finance:my_mandate",
    "finance:batch_list",
    "finance:batch_export",
    "finance:batch_collected",
    "finance:statement_import",
    "finance:transaction_resolve",
    "finance:transaction_split",
    "finance:transaction_link_batch",
    "finance:batch_items_remove",
    "finance:collection_item_withdraw",
    "finance:call_note",
}


@pytest.fixture(autouse=True)
def _frozen_today(monkeypatch):
    monkeypatch.setattr("django.utils.timezone.localdate", lambda *a, **k: TODAY)


@dataclass
class Case:
    """`page` is where the form is shown; `url` where it posts (the page itself when empty).
    `data` is called for every POST (an uploaded file can be read once only). `count` gives
    the records the form creates; each must grow by one."""

    persona: str
    page: str
    data: object
    count: object
    url: str = ""
    user: object = field(default=None, repr=False)

    @property
    def target(self) -> str:
        return self.url or self.page


def person(**overrides) -> dict:
    return {
        "given_name": "Truus",
        "tussenvoegsel": "van",
        "family_name": "Dijk",
        "email": "",
        "phone": "06 12345678",
        "date_of_birth": "1941-03-02",
        "language": "nl",
        "contact_preference": "letter",
        **overrides,
    }


def address(prefix: str = "adres-", **overrides) -> dict:
    data = {
        "street": "Veldweg",
        "house_number": "10",
        "house_number_addition": "",
        "postcode": "7911 cd",
        "town": "Hollandscheveld",
        **overrides,
    }
    return {f"{prefix}{key}": value for key, value in data.items()}


def csv_upload() -> SimpleUploadedFile:
    text = (
        "Voornaam;Achternaam;Straat;Huisnummer;Postcode;Plaats\r\n"
        "Jan;Jansen;Dorpsstraat;1;7913 AB;Hollandscheveld\r\n"
    )
    return SimpleUploadedFile("leden.csv", text.encode())


def own_member(user) -> Member:
    return Member.objects.get(user=user)


def invoice_of_ten(household=None) -> Invoice:
    return make_invoice(household or MemberFactory().household, Decimal("10.00"))


def overpaid_invoice() -> Invoice:
    invoice = invoice_of_ten()
    payment_record_manual(invoice=invoice, amount=Decimal("25.00"), booked_on=TODAY)
    return invoice


def demo_payment_with_surplus(settings) -> Payment:
    """A €10 invoice paid online (demo provider) and then by hand too: €10 to pay back."""
    settings.PAYMENT_PROVIDER = "demo"
    settings.COOP_DEMO = True
    member_user = make_persona("member")
    invoice = invoice_of_ten(own_member(member_user).household)
    payment = payment_start(invoice=invoice, by=member_user)
    demo_checkout_complete(demo_id=payment.provider_id, outcome="paid")
    payment_record_manual(invoice=invoice, amount=Decimal("10.00"), booked_on=TODAY)
    Payment.objects.filter(pk=payment.pk).update(needs_attention="Dubbel betaald")
    return payment


def entries(kind: str):
    return lambda: LedgerEntry.objects.filter(kind=kind).count()


# Each builder sets up the world and returns the case.


def _member_create(settings):
    return Case(
        "coordinator",
        reverse("members:member_create"),
        lambda: {**person(), **address()},
        lambda: (Member.objects.count(), Household.objects.count()),
    )


def _member_status(settings):
    applicant = MemberFactory(status=Member.Status.APPLIED, joined_on=None)
    return Case(
        "coordinator",
        reverse("members:member_status", args=[applicant.pk]),
        lambda: {"to_status": "actief", "effective_on": "2026-11-01", "reason": ""},
        lambda: StatusChange.objects.filter(member=applicant).count(),
    )


def _member_move(settings):
    member = MemberFactory()
    return Case(
        "coordinator",
        reverse("members:member_move", args=[member.pk]),
        lambda: {"household": "", "moved_on": "2026-11-01", **address()},
        lambda: (Move.objects.count(), Household.objects.count()),
    )


def _buurt_list(settings):
    return Case(
        "coordinator",
        reverse("members:buurt_list"),
        lambda: {"name": "Oost", "description": ""},
        Buurt.objects.count,
    )


def _buurt_detail(settings):
    buurt = buurt_create(name="Centrum")
    return Case(
        "coordinator",
        reverse("members:buurt_detail", args=[buurt.pk]),
        lambda: {"start": "7920", "end": ""},
        PostcodeRange.objects.count,
    )


def _member_import(settings):
    return Case(
        "coordinator",
        reverse("members:member_import"),
        lambda: {"file": csv_upload()},
        MemberImport.objects.count,
    )


def _housemate_add(settings):
    return Case(
        "member",
        reverse("members:housemate_add"),
        lambda: person(given_name="Piet", family_name="Vries", contact_preference=""),
        Member.objects.count,
    )


def _consent_give(settings):
    text = ConsentTextFactory(key="fotos", title="Foto's", required=False)
    return Case(
        "member",
        reverse("members:portal"),
        lambda: {},
        Consent.objects.count,
        url=reverse("members:consent_give", args=[text.pk]),
    )


def _notice_give(settings):
    return Case(
        "member",
        reverse("members:notice_give"),
        lambda: {"when": "year_end", "end_on": "", "reason": "Verhuizing"},
        MembershipNotice.objects.count,
    )


def _member_notice(settings):
    member = MemberFactory()
    membership_notice_give(member=member)
    return Case(
        "coordinator",
        reverse("members:member_notice", args=[member.pk]),
        lambda: {"action": "confirm", "effective_on": "2026-12-31"},
        lambda: StatusChange.objects.filter(member=member).count(),
    )


def _scheme_create(settings):
    return Case(
        "treasurer",
        reverse("finance:scheme_create"),
        lambda: {
            "year": "2027",
            "first_member_amount": "10,00",
            "further_member_amount": "7,50",
            "reduced_amount": "5",
            "mid_year": "per_month",
            "due_days": "30",
            "description": "Contributie",
        },
        ContributionScheme.objects.count,
    )


def _dues_run(settings):
    scheme_create(
        year=2026,
        first_member_amount=Decimal("10.00"),
        further_member_amount=Decimal("7.50"),
        reduced_amount=Decimal("5.00"),
    )
    MemberFactory(joined_on=dt.date(2020, 1, 1))
    return Case(
        "treasurer",
        reverse("finance:dues_run", args=[2026]),
        lambda: {"confirm": "on"},
        Invoice.objects.count,
    )


def _invoice_credit(settings):
    invoice = invoice_of_ten()
    return Case(
        "treasurer",
        reverse("finance:invoice_credit", args=[invoice.pk]),
        lambda: {"reason": "dubbel", "confirm": "on"},
        lambda: Invoice.objects.filter(kind=Invoice.Kind.CREDIT_NOTE).count(),
    )


def _invoice_write_off(settings):
    invoice = invoice_of_ten()
    return Case(
        "treasurer",
        reverse("finance:invoice_write_off", args=[invoice.pk]),
        lambda: {"reason": "vertrokken", "confirm": "on"},
        entries(LedgerEntry.Kind.WRITE_OFF),
    )


def _invoice_payment_manual(settings):
    invoice = invoice_of_ten()
    return Case(
        "treasurer",
        reverse("finance:invoice_payment_manual", args=[invoice.pk]),
        lambda: {"amount": "10,00", "booked_on": TODAY.isoformat(), "note": "contant"},
        entries(LedgerEntry.Kind.PAYMENT),
    )


def _invoice_payment_manual_confirmed_overpayment(settings):
    """The issue's case: €10 open, a confirmed €200 sent twenty times books €200 once."""
    invoice = invoice_of_ten()
    return Case(
        "treasurer",
        reverse("finance:invoice_payment_manual", args=[invoice.pk]),
        lambda: {"amount": "200,00", "booked_on": TODAY.isoformat(), "confirm_overpayment": "on"},
        entries(LedgerEntry.Kind.PAYMENT),
    )


def _invoice_overpaid_refund(settings):
    invoice = overpaid_invoice()
    return Case(
        "treasurer",
        reverse("finance:invoice_overpaid", args=[invoice.pk]),
        lambda: {"way": "refund", "iban": "NL91ABNA0417164300", "account_holder": "J. Jansen"},
        Refund.objects.count,
    )


def _invoice_overpaid_credit(settings):
    invoice = overpaid_invoice()
    return Case(
        "treasurer",
        reverse("finance:invoice_overpaid", args=[invoice.pk]),
        lambda: {"way": "credit", "iban": "", "account_holder": ""},
        lambda: LedgerEntry.objects.filter(invoice=invoice).count(),
    )


def _payment_refund(settings):
    payment = demo_payment_with_surplus(settings)
    return Case(
        "treasurer",
        reverse("finance:payment_list") + "?aandacht=1",
        lambda: {},
        entries(LedgerEntry.Kind.REFUND),
        url=reverse("finance:payment_refund", args=[payment.pk]),
    )


def _mandate_record_paper(settings):
    member = MemberFactory()
    return Case(
        "treasurer",
        reverse("finance:mandate_record_paper"),
        lambda: {
            "member_number": member.number,
            "account_holder": "Echtpaar de Vries",
            "iban": "NL91ABNA0417164300",
            "signed_on": "2026-11-02",
            "reference": "",
        },
        Mandate.objects.count,
    )


def _my_mandate(settings):
    return Case(
        "member",
        reverse("finance:my_mandate"),
        lambda: {"account_holder": "J. Jansen", "iban": "NL91ABNA0417164300", "consent": "on"},
        Mandate.objects.count,
    )


def _batch_list(settings):
    member, _mandate = household_with_mandate(1)
    make_invoice(member.household)
    return Case(
        "treasurer",
        reverse("finance:batch_list"),
        lambda: {"collection_date": "2026-12-15"},
        CollectionBatch.objects.count,
    )


def _batch_export(settings):
    member, _mandate = household_with_mandate(2)
    make_invoice(member.household)
    batch = batch_create(collection_date=dt.date(2026, 12, 15), by=None)
    return Case(
        "treasurer",
        reverse("finance:batch_detail", args=[batch.pk]),
        lambda: {},
        lambda: CollectionBatch.objects.filter(status=CollectionBatch.Status.EXPORTED).count(),
        url=reverse("finance:batch_export", args=[batch.pk]),
    )


def _batch_collected(settings):
    member, mandate = household_with_mandate(3)
    invoice = make_invoice(member.household)
    batch, _items = exported_batch([(invoice, mandate)], collection_date=dt.date(2026, 11, 20))
    return Case(
        "treasurer",
        reverse("finance:batch_detail", args=[batch.pk]),
        lambda: {},
        entries(LedgerEntry.Kind.PAYMENT),
        url=reverse("finance:batch_collected", args=[batch.pk]),
    )


def _statement_import(settings):
    content = (FIXTURES / "camt" / "transfer.xml").read_bytes()
    return Case(
        "treasurer",
        reverse("finance:statement_import"),
        lambda: {"file": SimpleUploadedFile("afschrift.xml", content)},
        BankStatement.objects.count,
    )


def _transaction_resolve(settings):
    invoice = invoice_of_ten()
    statement = BankStatement.objects.create(
        file_name="a.xml", file_hash="a" * 64, format="camt053"
    )
    line = BankTransaction.objects.create(
        statement=statement, entry_key="k1", booking_date=TODAY, amount=Decimal("10.00")
    )
    return Case(
        "treasurer",
        reverse("finance:unmatched_list"),
        lambda: {f"t{line.pk}-invoice_number": invoice.number},
        entries(LedgerEntry.Kind.PAYMENT),
        url=reverse("finance:transaction_resolve", args=[line.pk]),
    )


def _unmatched_line(amount: Decimal) -> BankTransaction:
    statement = BankStatement.objects.create(
        file_name="b.xml", file_hash="b" * 64, format="camt053"
    )
    return BankTransaction.objects.create(
        statement=statement, entry_key="k2", booking_date=TODAY, amount=amount
    )


def resolved_lines():
    return BankTransaction.objects.filter(status=BankTransaction.Status.RESOLVED).count()


def _transaction_split(settings):
    first, second = invoice_of_ten(), invoice_of_ten()
    line = _unmatched_line(Decimal("20.00"))
    return Case(
        "treasurer",
        reverse("finance:transaction_split", args=[line.pk]),
        lambda: {
            "invoice_1": first.number,
            "amount_1": "10,00",
            "invoice_2": second.number,
            "amount_2": "10,00",
        },
        resolved_lines,
    )


def _transaction_link_batch(settings):
    member, mandate = household_with_mandate(5)
    invoice = make_invoice(member.household)
    batch, _items = exported_batch([(invoice, mandate)], batch_no=5)
    line = _unmatched_line(invoice.total)
    return Case(
        "treasurer",
        reverse("finance:unmatched_list"),
        lambda: {f"t{line.pk}-batch": batch.pk},
        resolved_lines,
        url=reverse("finance:transaction_link_batch", args=[line.pk]),
    )


def _batch_items_remove(settings):
    settings.SEPA_CREDITOR_ID = "NL79ZZZ999999990000"
    member, _mandate = household_with_mandate(6)
    Member.objects.filter(pk=member.pk).update(
        email="", contact_preference=Member.ContactPreference.LETTER
    )
    invoice = make_invoice(member.household)
    batch = batch_create(collection_date=dt.date(2026, 12, 15), by=None, today=TODAY)
    batch_prenotify(batch=batch)
    item = batch.items.get(invoice=invoice)
    return Case(
        "treasurer",
        reverse("finance:batch_detail", args=[batch.pk]),
        lambda: {"item": str(item.pk)},
        lambda: 1 - batch.items.count(),
        url=reverse("finance:batch_items_remove", args=[batch.pk]),
    )


def _collection_item_withdraw(settings):
    member, mandate = household_with_mandate(7)
    invoice = make_invoice(member.household)
    batch, items = exported_batch([(invoice, mandate)], batch_no=7)
    payment_record_manual(invoice=invoice, amount=invoice.total, booked_on=TODAY)
    return Case(
        "treasurer",
        reverse("finance:batch_detail", args=[batch.pk]),
        lambda: {},
        lambda: batch.items.filter(status="withdrawn").count(),
        url=reverse("finance:collection_item_withdraw", args=[items[0].pk]),
    )


def _call_note(settings):
    invoice = invoice_of_ten()
    Invoice.objects.filter(pk=invoice.pk).update(reminder_level=3)  # after two reminders
    return Case(
        "coordinator",
        reverse("finance:call_note", args=[invoice.pk]),
        lambda: {"outcome": CallNote.Outcome.NOT_REACHED, "note": "Geen gehoor"},
        CallNote.objects.count,
    )


def _ledger_entry_reverse(settings):
    entry = payment_record_manual(
        invoice=invoice_of_ten(), amount=Decimal("10.00"), booked_on=TODAY
    )
    return Case(
        "treasurer",
        reverse("finance:ledger_entry_reverse", args=[entry.pk]),
        lambda: {"reason": "verkeerde factuur", "confirm": "on"},
        entries(LedgerEntry.Kind.REVERSAL),
    )


CASES = {
    "members:member_create": _member_create,
    "members:member_status": _member_status,
    "members:member_move": _member_move,
    "members:buurt_list": _buurt_list,
    "members:buurt_detail": _buurt_detail,
    "members:member_import": _member_import,
    "members:housemate_add": _housemate_add,
    "members:consent_give": _consent_give,
    "members:notice_give": _notice_give,
    "members:member_notice": _member_notice,
    "finance:scheme_create": _scheme_create,
    "finance:dues_run": _dues_run,
    "finance:invoice_credit": _invoice_credit,
    "finance:invoice_write_off": _invoice_write_off,
    "finance:invoice_payment_manual": _invoice_payment_manual,
    "finance:invoice_payment_manual (confirmed overpayment)": (
        _invoice_payment_manual_confirmed_overpayment
    ),
    "finance:ledger_entry_reverse": _ledger_entry_reverse,
    "finance:invoice_overpaid (refund)": _invoice_overpaid_refund,
    "finance:invoice_overpaid (credit)": _invoice_overpaid_credit,
    "finance:payment_refund": _payment_refund,
    "finance:mandate_record_paper": _mandate_record_paper,
    "finance:my_mandate": _my_mandate,
    "finance:batch_list": _batch_list,
    "finance:batch_export": _batch_export,
    "finance:batch_collected": _batch_collected,
    "finance:statement_import": _statement_import,
    "finance:transaction_resolve": _transaction_resolve,
    "finance:transaction_split": _transaction_split,
    "finance:transaction_link_batch": _transaction_link_batch,
    "finance:batch_items_remove": _batch_items_remove,
    "finance:collection_item_withdraw": _collection_item_withdraw,
    "finance:call_note": _call_note,
}


_FORM = re.compile(r"<form\b([^>]*)>(.*?)</form>", re.S)
_ACTION = re.compile(r'action="([^"]*)"')
_TOKEN = re.compile(r'<input type="hidden" name="form_token" value="([^"]+)">')


def page_token(client, page: str, target: str) -> str:
    """The token in the page's POST form that sends to `target`, as a browser would send it."""
    response = client.get(page)
    assert response.status_code == 200, page
    page_path = page.split("?")[0]
    for attrs, body in _FORM.findall(response.content.decode()):
        if 'method="post"' not in attrs:
            continue
        action = _ACTION.search(attrs)
        if (action.group(1) if action and action.group(1) else page_path) != target:
            continue
        tokens = _TOKEN.findall(body)
        assert len(tokens) == 1, f"the form to {target} on {page} has no one-time token"
        return tokens[0]
    raise AssertionError(f"no form posting to {target} on {page}")


def start(client, settings, builder) -> Case:
    case = builder(settings)
    case.user = make_persona(case.persona)
    client.force_login(case.user)
    return case


def grew_by_one(before, after) -> bool:
    if isinstance(before, tuple):
        return after == tuple(count + 1 for count in before)
    return after == before + 1


@pytest.mark.parametrize("name", list(CASES))
def test_twenty_identical_submissions_make_one_record(client, settings, name):
    case = start(client, settings, CASES[name])
    before = case.count()
    token = page_token(client, case.page, case.target)
    responses = [
        client.post(case.target, {**case.data(), FORM_TOKEN_FIELD: token}) for _ in range(TIMES)
    ]
    after = case.count()
    assert grew_by_one(before, after), (before, after)
    first = responses[0]
    assert first.status_code == 302
    assert [r.status_code for r in responses[1:]] == [302] * (TIMES - 1)
    assert {r["Location"] for r in responses[1:]} == {first["Location"]}
    shown = client.get(first["Location"])
    assert ALREADY_SENT in shown.content.decode()


def test_the_manual_payment_of_the_issue_books_once(client, treasurer):
    """20 identical POSTs of €10 on a €10 invoice booked €200; now they book €10."""
    invoice = invoice_of_ten()
    client.force_login(treasurer)
    url = reverse("finance:invoice_payment_manual", args=[invoice.pk])
    token = page_token(client, url, url)
    data = {"amount": "10,00", "booked_on": TODAY.isoformat(), FORM_TOKEN_FIELD: token}
    for _ in range(TIMES):
        client.post(url, data)
    assert invoice_balance(invoice) == Decimal("0.00")
    assert invoice.entries.count() == 1


def test_every_view_that_takes_a_token_is_known_and_tested():
    def walk(patterns, namespace=None):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, pattern.namespace or namespace)
            elif getattr(pattern.callback, "once_per_form", False):
                yield f"{namespace}:{pattern.name}" if namespace else pattern.name

    # The statement and member imports read the file first, outside the transaction, then book
    # or keep it in a once_per_form helper.
    assert statements._statement_book_view.once_per_form
    assert member_imports._member_import_keep.once_per_form
    read_first = {"finance:statement_import", "members:member_import"}
    assert set(walk(get_resolver().url_patterns)) | read_first == PROTECTED
    assert {name.split(" ")[0] for name in CASES} == PROTECTED


# Forms that are safe by design take no token; sent twenty times they still make one record.


def test_paper_consent_twenty_times(client, coordinator):
    text = ConsentTextFactory()
    member = MemberFactory()
    client.force_login(coordinator)
    url = reverse("members:member_detail", args=[member.pk])
    for _ in range(TIMES):
        client.post(url, {"papier-consent_texts": [text.pk]})
    assert Consent.objects.filter(member=member).count() == 1


def test_household_address_change_twenty_times(client, coordinator):
    household = HouseholdFactory()
    MemberFactory(household=household)
    client.force_login(coordinator)
    url = reverse("members:household_edit", args=[household.pk])
    data = {**address(prefix=""), "changed_on": "2026-11-01"}
    for _ in range(TIMES):
        assert client.post(url, data).status_code == 302
    assert AddressChange.objects.filter(household=household).count() == 1


def test_own_address_change_twenty_times(client, member_user):
    client.force_login(member_user)
    data = {**address(prefix="", street="Nieuwe Weg"), "changed_on": "2026-11-01"}
    for _ in range(TIMES):
        assert client.post(reverse("members:portal_address"), data).status_code == 302
    assert AddressChange.objects.count() == 1


def test_import_confirmation_twenty_times(client, coordinator):
    client.force_login(coordinator)
    uploaded = member_import_upload(file=csv_upload(), by=coordinator)
    url = reverse("members:member_import_preview", kwargs={"token": uploaded.token})
    before = Member.objects.count()
    for _ in range(TIMES):
        assert client.post(url).status_code == 302
    assert Member.objects.count() == before + 1


def test_paying_online_twenty_times_starts_one_payment(client, member_user, settings):
    settings.PAYMENT_PROVIDER = "demo"
    settings.COOP_DEMO = True
    invoice = invoice_of_ten(own_member(member_user).household)
    client.force_login(member_user)
    for _ in range(TIMES):
        assert client.post(reverse("finance:invoice_pay", args=[invoice.pk])).status_code == 302
    assert Payment.objects.filter(invoice=invoice).count() == 1


def test_signing_up_twenty_times_makes_at_most_one_account(client):
    ConsentTextFactory(key="privacy", title="Privacyverklaring")
    data = {
        "given_name": "Fatima",
        "tussenvoegsel": "el",
        "family_name": "Amrani",
        "date_of_birth": "1948-03-02",
        "phone": "06 12345678",
        "language": "nl",
        "street": "Kerkstraat",
        "house_number": "12",
        "house_number_addition": "a",
        "postcode": "7911ab",
        "town": "Hollandscheveld",
        "email": "fatima@example.org",
        "password1": "Een-lang-wachtwoord-42",
        "password2": "Een-lang-wachtwoord-42",
        "consent_privacy": "on",
    }
    for _ in range(TIMES):
        client.post(reverse("account_signup"), data)
        client.logout()
    assert get_user_model().objects.filter(email__iexact="fatima@example.org").count() <= 1
    assert Member.objects.filter(family_name="Amrani").count() <= 1
    assert Household.objects.filter(street="Kerkstraat").count() <= 1


# The token itself ------------------------------------------------------------------------------


def _buurt_page(client, coordinator):
    client.force_login(coordinator)
    return reverse("members:buurt_list")


@pytest.mark.parametrize(
    "token",
    [
        None,
        "",
        "zomaar-iets",
        "1:abc:def",
    ],
)
def test_a_missing_or_forged_token_creates_nothing_and_asks_to_send_again(
    client, coordinator, token
):
    url = _buurt_page(client, coordinator)
    data = {"name": "Oost", "description": ""}
    raw = Client()
    raw.force_login(coordinator)
    response = (
        raw.post(url, data) if token is None else raw.post(url, {**data, FORM_TOKEN_FIELD: token})
    )
    assert response.status_code == 302 and response["Location"] == url
    assert not Buurt.objects.exists()
    page = raw.get(url)
    assert REFUSED in page.content.decode()
    assert page_token(raw, url, url)  # a fresh one to try again with


def test_a_tampered_token_is_refused(client, coordinator):
    url = _buurt_page(client, coordinator)
    token = page_token(client, url, url)
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    client.post(url, {"name": "Oost", "description": "", FORM_TOKEN_FIELD: tampered})
    assert not Buurt.objects.exists()


def test_a_token_older_than_a_day_is_refused(client, coordinator, monkeypatch):
    url = _buurt_page(client, coordinator)
    token = page_token(client, url, url)
    later = timezone.now().timestamp() + FORM_TOKEN_MAX_AGE + 60
    monkeypatch.setattr("django.core.signing.time.time", lambda: later)
    response = client.post(url, {"name": "Oost", "description": "", FORM_TOKEN_FIELD: token})
    assert response.status_code == 302 and not Buurt.objects.exists()


def test_a_token_made_for_someone_else_is_refused(client, coordinator):
    other = make_persona("treasurer")
    url = _buurt_page(client, coordinator)
    token = form_token_new(user_id=other.pk)
    client.post(url, {"name": "Oost", "description": "", FORM_TOKEN_FIELD: token})
    assert not Buurt.objects.exists()


def test_a_post_only_action_without_a_token_goes_back_to_the_page_it_came_from(client, treasurer):
    member, _mandate = household_with_mandate(4)
    make_invoice(member.household)
    batch = batch_create(collection_date=dt.date(2026, 12, 15), by=None)
    detail = reverse("finance:batch_detail", args=[batch.pk])
    raw = Client()
    raw.force_login(treasurer)
    response = raw.post(
        reverse("finance:batch_export", args=[batch.pk]),
        HTTP_REFERER=f"http://testserver{detail}",
    )
    assert response.status_code == 302 and response["Location"] == f"http://testserver{detail}"
    batch.refresh_from_db()
    assert batch.status == CollectionBatch.Status.DRAFT
    # A referring page elsewhere is not followed.
    response = raw.post(
        reverse("finance:batch_export", args=[batch.pk]), HTTP_REFERER="https://elders.example/"
    )
    assert response["Location"] == reverse("finance:batch_export", args=[batch.pk])


def test_a_refused_submission_keeps_its_token_for_the_corrected_form(client, coordinator):
    buurt_create(name="Oost")
    url = _buurt_page(client, coordinator)
    token = page_token(client, url, url)
    response = client.post(url, {"name": "Oost", "description": "", FORM_TOKEN_FIELD: token})
    assert response.status_code == 200 and "Er is al een buurt met deze naam" in (
        response.content.decode()
    )
    assert not FormSubmission.objects.exists()
    response = client.post(url, {"name": "West", "description": "", FORM_TOKEN_FIELD: token})
    assert response.status_code == 302
    assert Buurt.objects.filter(name="West").exists()
    submission = FormSubmission.objects.get()
    assert (submission.user, submission.path, submission.result_url) == (
        coordinator,
        url,
        response["Location"],
    )


def test_each_rendering_of_a_form_has_its_own_token(client, coordinator):
    url = _buurt_page(client, coordinator)
    first, second = page_token(client, url, url), page_token(client, url, url)
    assert first != second
    client.post(url, {"name": "Oost", "description": "", FORM_TOKEN_FIELD: first})
    client.post(url, {"name": "West", "description": "", FORM_TOKEN_FIELD: second})
    assert Buurt.objects.count() == 2  # two pages opened, two buurten: not a double submission


def test_used_tokens_are_purged_once_expired():
    old = FormSubmission.objects.create(token="oud", path="/")
    FormSubmission.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - dt.timedelta(seconds=FORM_TOKEN_MAX_AGE + 2 * 60 * 60)
    )
    fresh = FormSubmission.objects.create(token="nieuw", path="/")
    assert form_submissions_purge() == 1
    assert list(FormSubmission.objects.all()) == [fresh]
    schedule = celery_app.conf.beat_schedule
    assert any(
        entry["task"] == "coop.core.tasks.form_submissions_purge" for entry in schedule.values()
    )


# A manual payment above what is open asks first ------------------------------------------------


def test_a_manual_payment_above_the_open_balance_asks_for_confirmation(client, treasurer):
    invoice = invoice_of_ten()
    client.force_login(treasurer)
    url = reverse("finance:invoice_payment_manual", args=[invoice.pk])
    assert 'type="checkbox" name="confirm_overpayment"' not in client.get(url).content.decode()
    data = {"amount": "200,00", "booked_on": TODAY.isoformat(), "note": ""}
    response = client.post(url, data)
    page = response.content.decode()
    assert response.status_code == 200
    assert "meer dan er nog openstaat (€ 10,00)" in page and "€ 190,00 te veel" in page
    assert 'type="checkbox" name="confirm_overpayment"' in page
    assert "Ja, boek dit bedrag." in page
    assert not invoice.entries.exists()

    response = client.post(url, {**data, "confirm_overpayment": "on"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("finance:invoice_detail", args=[invoice.pk])
    assert "te veel betaald" in response.content.decode()
    assert invoice_balance(invoice) == Decimal("-190.00")


def test_a_manual_payment_up_to_the_open_balance_is_booked_without_asking(client, treasurer):
    invoice = invoice_of_ten()
    client.force_login(treasurer)
    url = reverse("finance:invoice_payment_manual", args=[invoice.pk])
    for amount in ("4,00", "6,00"):
        response = client.post(url, {"amount": amount, "booked_on": TODAY.isoformat()})
        assert response.status_code == 302
    assert invoice_balance(invoice) == Decimal("0.00")
    response = client.post(url, {"amount": "0,01", "booked_on": TODAY.isoformat()})
    assert response.status_code == 200 and invoice.entries.count() == 2  # paid: asks first


# Two submissions at the same moment -------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_twenty_identical_submissions_at_the_same_moment_book_once(on_postgres):
    celery_app.conf.task_always_eager = True
    treasurer = make_persona("treasurer")
    invoice = invoice_of_ten()
    url = reverse("finance:invoice_payment_manual", args=[invoice.pk])
    token = form_token_new(user_id=treasurer.pk)
    data = {"amount": "10,00", "booked_on": TODAY.isoformat(), FORM_TOKEN_FIELD: token}
    barrier = threading.Barrier(TIMES)
    statuses: list[int] = []

    def submit():
        try:
            browser = Client()
            browser.force_login(treasurer)
            barrier.wait()
            statuses.append(browser.post(url, data).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(TIMES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [302] * TIMES
    assert LedgerEntry.objects.filter(invoice=invoice).count() == 1
    assert FormSubmission.objects.count() == 1
