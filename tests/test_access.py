"""Every URL × every persona, with the answer each must get (byro's office access test).

A new URL fails `test_every_url_is_in_the_table` until it is given its expected answers here.
"""

import datetime as dt
import hashlib
from decimal import Decimal

import pytest
from django.urls import URLResolver, get_resolver, reverse

from coop.accounts.access import ACCESS_ATTR
from coop.core.models import OutboxMessage
from finance.models import (
    BankStatement,
    BankTransaction,
    CollectionBatch,
    CollectionItem,
    ContributionScheme,
    Invoice,
    LedgerEntry,
    Mandate,
    Payment,
)
from finance.services.ledger import invoice_number_next
from members.models import MemberImport

from .conftest import PERSONAS, make_persona
from .factories import BuurtFactory, HouseholdFactory, MemberFactory, PostcodeRangeFactory

ANON = "anonymous"
COORD = {"coordinator"}
REGISTER = {"coordinator", "treasurer"}
TREASURER = {"treasurer"}
MEMBER = {"member"}
EVERYONE = set(PERSONAS)

# url name -> (kwargs builder, personas that get 200). Everyone else: anonymous is sent to the
# login page, other accounts get 403.
TABLE = {
    "dashboard:coordinator": (None, REGISTER),
    "dashboard:healthz": (None, EVERYONE),
    "set_language": (None, set()),  # POST only: checked separately
    "members:member_list": (None, REGISTER),
    "members:member_export_csv": (None, REGISTER),
    "members:member_export_xlsx": (None, REGISTER),
    "members:member_create": (None, COORD),
    "members:member_detail": (lambda w: {"pk": w["other"].pk}, REGISTER),
    "members:member_edit": (lambda w: {"pk": w["other"].pk}, COORD),
    "members:member_status": (lambda w: {"pk": w["other"].pk}, COORD),
    "members:member_move": (lambda w: {"pk": w["other"].pk}, COORD),
    "members:household_detail": (lambda w: {"pk": w["other"].household_id}, REGISTER),
    "members:household_edit": (lambda w: {"pk": w["other"].household_id}, COORD),
    "members:buurt_list": (None, COORD),
    "members:buurt_detail": (lambda w: {"pk": w["buurt"].pk}, COORD),
    "members:postcode_range_delete": (
        lambda w: {"pk": w["buurt"].pk, "range_pk": w["range"].pk},
        COORD,
    ),
    "members:member_import": (None, COORD),
    "members:member_import_preview": (lambda w: {"token": w["import"].token}, COORD),
    "members:member_welcome_letter": (lambda w: {"pk": w["other"].pk}, COORD),
    "members:buurt_member_list_pdf": (lambda w: {"pk": w["buurt"].pk}, COORD),
    "members:letter_list": (None, COORD),
    "members:letter_print": (None, COORD),
    "members:portal": (None, MEMBER),
    "members:portal_edit": (None, MEMBER),
    "members:portal_address": (None, MEMBER),
    "members:housemate_add": (None, MEMBER),
    "members:housemate_edit": (lambda w: {"pk": w["housemate"].pk}, MEMBER),
    "members:housemate_remove": (lambda w: {"pk": w["housemate"].pk}, MEMBER),
    "members:data_export": (None, MEMBER),
    "members:consent_give": (lambda w: {"pk": 1}, MEMBER),
    "members:consent_revoke": (lambda w: {"key": "privacy"}, MEMBER),
    "members:notice_give": (None, MEMBER),
    "members:notice_withdraw": (None, MEMBER),
    "members:member_notice": (lambda w: {"pk": w["other"].pk}, COORD),
    "members:notice_list": (None, REGISTER),
    # Finance: the treasurer runs it; coordinators see who paid (no bank details); members their own.
    "finance:finance_overview": (None, TREASURER),
    "finance:scheme_list": (None, TREASURER),
    "finance:scheme_create": (None, TREASURER),
    "finance:scheme_edit": (lambda w: {"pk": w["scheme"].pk}, TREASURER),
    "finance:dues_run": (lambda w: {"year": w["scheme"].year}, TREASURER),
    "finance:invoice_list": (None, TREASURER),
    "finance:invoice_export_csv": (None, TREASURER),
    "finance:invoice_export_xlsx": (None, TREASURER),
    "finance:ledger_export_csv": (None, TREASURER),
    "finance:ledger_export_xlsx": (None, TREASURER),
    "finance:invoice_detail": (lambda w: {"pk": w["invoice"].pk}, TREASURER),
    "finance:invoice_pdf": (lambda w: {"pk": w["invoice"].pk}, TREASURER),
    "finance:invoice_credit": (lambda w: {"pk": w["invoice"].pk}, TREASURER),
    "finance:invoice_write_off": (lambda w: {"pk": w["invoice"].pk}, TREASURER),
    "finance:invoice_payment_manual": (lambda w: {"pk": w["invoice"].pk}, TREASURER),
    "finance:ledger_entry_reverse": (
        lambda w: {"pk": w["overpaid_invoice"].entries.get().pk},
        TREASURER,
    ),
    "finance:household_balance": (lambda w: {"pk": w["other"].household_id}, TREASURER),
    "finance:member_rate": (lambda w: {"pk": w["other"].pk}, TREASURER),
    "finance:dues_status": (None, REGISTER),
    "finance:my_invoices": (None, MEMBER),
    "finance:my_invoice_pdf": (lambda w: {"pk": w["own_invoice"].pk}, MEMBER),
    "finance:invoice_pay": (lambda w: {"pk": w["own_invoice"].pk}, MEMBER),
    "finance:payment_return": (lambda w: {"pk": w["own_invoice"].pk}, MEMBER),
    "finance:payment_list": (None, TREASURER),
    "finance:overpaid_list": (None, TREASURER),
    "finance:invoice_overpaid": (lambda w: {"pk": w["overpaid_invoice"].pk}, TREASURER),
    "finance:payment_refund": (lambda w: {"pk": w["payment"].pk}, TREASURER),
    "finance:payment_resolve": (lambda w: {"pk": w["payment"].pk}, TREASURER),
    "finance:mandate_list": (None, REGISTER),
    "finance:mandate_record_paper": (None, REGISTER),
    "finance:mandate_revoke": (lambda w: {"pk": w["mandate"].pk}, REGISTER),
    "finance:batch_list": (None, TREASURER),
    "finance:batch_detail": (lambda w: {"pk": w["batch"].pk}, TREASURER),
    "finance:batch_export": (lambda w: {"pk": w["batch"].pk}, TREASURER),
    "finance:batch_download": (lambda w: {"pk": w["batch"].pk}, TREASURER),
    "finance:batch_collected": (lambda w: {"pk": w["batch"].pk}, TREASURER),
    "finance:batch_items_remove": (lambda w: {"pk": w["batch"].pk}, TREASURER),
    "finance:collection_item_withdraw": (lambda w: {"pk": w["item"].pk}, TREASURER),
    "finance:returns_list": (None, TREASURER),
    "finance:my_mandate": (None, MEMBER),
    "finance:my_mandate_revoke": (None, MEMBER),
    "finance:statement_import": (None, TREASURER),
    "finance:statement_detail": (lambda w: {"pk": w["statement"].pk}, TREASURER),
    "finance:unmatched_list": (None, TREASURER),
    "finance:transaction_resolve": (lambda w: {"pk": w["transaction"].pk}, TREASURER),
    "finance:transaction_ignore": (lambda w: {"pk": w["transaction"].pk}, TREASURER),
    "finance:transaction_link_batch": (lambda w: {"pk": w["transaction"].pk}, TREASURER),
    "finance:transaction_split": (lambda w: {"pk": w["transaction"].pk}, TREASURER),
    "finance:reminder_settings": (None, TREASURER),
    "finance:call_list": (None, REGISTER),
    "finance:call_note": (lambda w: {"pk": on_call_list(w["invoice"]).pk}, REGISTER),
    # E-mails that could not be sent: whoever sends them may try again.
    "dashboard:outbox_failed": (None, REGISTER),
    "dashboard:outbox_retry": (lambda w: {"pk": failed_email().pk}, REGISTER),
}
# Allowed answers other than 200: printing with no letters waiting goes back to the list.
ALLOWED_STATUS = {
    "members:letter_print": 302,
    # Actions that only take POST answer GET with 405 — after the access check.
    "finance:batch_collected": 405,
    "finance:batch_items_remove": 405,
    "finance:collection_item_withdraw": 405,
    "finance:transaction_link_batch": 405,
    "finance:batch_export": 405,
    "finance:payment_refund": 405,
    "finance:payment_resolve": 405,
    "finance:transaction_ignore": 405,
    "finance:transaction_resolve": 405,
    "dashboard:outbox_retry": 405,
    "members:consent_give": 405,
    "members:consent_revoke": 405,
    "members:notice_withdraw": 405,
    # A draft batch has no file to download yet.
    "finance:batch_download": 404,
    # Without a mandate or a payment there is nothing to show: back to the overview.
    "finance:my_mandate_revoke": 302,
    "finance:payment_return": 302,
}
# Pages anyone may open, with what each persona gets.
SPECIAL = {
    "dashboard:home": {
        ANON: 200,
        "outsider": 200,
        "volunteer": 200,
        "buurtassistent": 200,
        "admin": 200,
        "member": 302,
        "coordinator": 302,
        "treasurer": 302,
    },
}


# The privacy statement is for everyone, logged in or not.
SPECIAL["members:privacy_statement"] = dict.fromkeys(PERSONAS, 200)


# Public endpoints for the payment provider: the webhook takes only POST; the demo checkout
# exists only in the demo (DEBUG or COOP_DEMO), so it is 404 here for everyone.
SPECIAL["finance:payment_webhook"] = dict.fromkeys(PERSONAS, 405)
# The admin's own login is never served: everyone is sent to the site's login (with MFA).
SPECIAL["admin_login"] = dict.fromkeys(PERSONAS, 302)
SPECIAL["finance:demo_checkout"] = dict.fromkeys(PERSONAS, 404)
SPECIAL_KWARGS = {"finance:demo_checkout": {"demo_id": "demo_onbekend"}}


def project_url_names():
    def walk(patterns, namespace=None):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                if str(pattern.pattern).startswith(("admin/", "accounts/")):
                    continue
                yield from walk(pattern.url_patterns, pattern.namespace or namespace)
            else:
                name = f"{namespace}:{pattern.name}" if namespace else pattern.name
                yield name, pattern.callback

    return list(walk(get_resolver().url_patterns))


def test_every_url_declares_who_may_use_it():
    undeclared = [name for name, view in project_url_names() if not hasattr(view, ACCESS_ATTR)]
    assert undeclared == []


def test_every_url_is_in_the_table():
    missing = [name for name, _ in project_url_names() if name not in TABLE and name not in SPECIAL]
    assert missing == []


@pytest.fixture
def world(db):
    def build(user):
        buurt = BuurtFactory(name="Centrum")
        postcode_range = PostcodeRangeFactory(buurt=buurt, start="7911 AA", end="7911 ZZ")
        other = MemberFactory(household=HouseholdFactory(buurt=buurt))
        own = getattr(user, "member", None) if user is not None else None
        housemate = MemberFactory(household=own.household if own else HouseholdFactory())
        member_import = MemberImport.objects.create(file_name="leden.csv", rows=[], row_count=0)
        finance = finance_world(other=other, own_household=housemate.household)
        return {
            "buurt": buurt,
            "range": postcode_range,
            "other": other,
            "housemate": housemate,
            "import": member_import,
            **finance,
        }

    return build


def failed_email():
    return OutboxMessage.objects.create(
        key="access.failed:1",
        channel=OutboxMessage.Channel.EMAIL,
        status=OutboxMessage.Status.FAILED,
        recipient_ref="members.member:0",
        to_name="J. de Vries",
        to_email="vries@example.org",
        subject="Vooraankondiging",
        body_text="…",
        attempts=5,
    )


def on_call_list(invoice):
    """The invoice after two reminders: on the coordinators' call list."""
    Invoice.objects.filter(pk=invoice.pk).update(reminder_level=3)
    return invoice


def make_invoice(household, year=2026):
    sequence, number = invoice_number_next(year=year)
    return Invoice.objects.create(
        year=year,
        sequence=sequence,
        number=number,
        household=household,
        recipient_name="Huishouden",
        street=household.street,
        house_number=str(household.house_number),
        postcode=household.postcode,
        town=household.town,
        issued_on=dt.date(year, 1, 15),
        due_on=dt.date(year, 2, 15),
        total=Decimal("10.00"),
    )


def finance_world(*, other, own_household):
    scheme = ContributionScheme.objects.create(
        year=2026,
        first_member_amount=Decimal("10.00"),
        further_member_amount=Decimal("7.50"),
        reduced_amount=Decimal("5.00"),
    )
    invoice = make_invoice(other.household)
    payment = Payment.objects.create(
        invoice=invoice, provider="demo", provider_id="demo_access", amount=Decimal("10.00")
    )
    mandate = Mandate.objects.create(
        household=other.household,
        reference="WKC-ACCESS-1",
        iban="NL91ABNA0417164300",
        account_holder="J. van der Berg",
        signed_on=dt.date(2025, 1, 1),
    )
    batch = CollectionBatch.objects.create(
        collection_date=dt.date(2026, 3, 1),
        message_id="WKC-ACCESS-BATCH",
        schema_version="pain.008.001.02",
    )
    statement = BankStatement.objects.create(
        file_name="camt.xml",
        file_hash=hashlib.sha256(b"access").hexdigest(),
        format=BankStatement.Format.CAMT053,
    )
    transaction = BankTransaction.objects.create(
        statement=statement,
        entry_key="access-1",
        booking_date=dt.date(2026, 2, 1),
        amount=Decimal("10.00"),
        remittance="onbekend",
    )
    overpaid = make_invoice(other.household, year=2025)
    LedgerEntry.objects.create(
        invoice=overpaid, kind="payment", source="transfer", external_id="access-over",
        amount=Decimal("12.50"), booked_on=dt.date(2025, 2, 1),
    )  # fmt: skip
    return {
        "scheme": scheme,
        "invoice": invoice,
        "overpaid_invoice": overpaid,
        "own_invoice": make_invoice(own_household),
        "payment": payment,
        "mandate": mandate,
        "batch": batch,
        "item": CollectionItem.objects.create(
            batch=batch,
            invoice=invoice,
            mandate=mandate,
            amount=invoice.total,
            end_to_end_id="ACCESS-E2E-1",
        ),
        "statement": statement,
        "transaction": transaction,
    }


CASES = [
    (name, persona) for name in sorted(TABLE) if name != "set_language" for persona in PERSONAS
]


@pytest.mark.django_db
@pytest.mark.parametrize(("url_name", "persona_name"), CASES)
def test_access(client, world, url_name, persona_name):
    user = make_persona(persona_name)
    objects = world(user)
    kwargs_builder, allowed = TABLE[url_name]
    url = reverse(url_name, kwargs=kwargs_builder(objects) if kwargs_builder else None)
    if user is not None:
        client.force_login(user)
    response = client.get(url)
    if persona_name in allowed:
        assert response.status_code == ALLOWED_STATUS.get(url_name, 200), f"{persona_name} on {url}"
    elif user is None:
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    else:
        assert response.status_code == 403, f"{persona_name} on {url}"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("url_name", "persona_name"), [(n, p) for n in sorted(SPECIAL) for p in PERSONAS]
)
def test_public_endpoints(client, url_name, persona_name):
    user = make_persona(persona_name)
    if user is not None:
        client.force_login(user)
    url = reverse(url_name, kwargs=SPECIAL_KWARGS.get(url_name))
    assert client.get(url).status_code == SPECIAL[url_name][persona_name]


@pytest.mark.django_db
def test_member_cannot_reach_another_household_through_the_portal(client, world):
    user = make_persona("member")
    objects = world(user)
    client.force_login(user)
    for name in ("members:housemate_edit", "members:housemate_remove"):
        assert client.get(reverse(name, kwargs={"pk": objects["other"].pk})).status_code == 404


@pytest.mark.django_db
def test_language_switch_is_public(client):
    response = client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert response.status_code == 302
