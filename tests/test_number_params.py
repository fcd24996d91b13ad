"""Numbers typed into a search box, a form or a URL: '²', '٣' and friends never give a 500.

str.isdigit() says yes to '²' and '٣' and int() reads '٣' as 3 but fails on '²'. Every page that
turns a query parameter, a form value or a search term into a number answers with a form error,
an empty result, a fallback page or a 404. The test client re-raises a view's exception, so a
crash fails the test instead of showing up as a 500 status.
"""

import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib import admin
from django.contrib.messages import get_messages
from django.urls import reverse

from coop.core.form_tokens import FORM_TOKEN_FIELD, form_token_new
from coop.lib.money import parse_money
from coop.lib.numbers import BIGINT_MAX, is_ascii_digits, parse_id, parse_int
from finance.dues_forms import InvoiceFilterForm, ManualPaymentForm, SchemeForm
from finance.models import ContributionScheme, Mandate
from finance.sepa_forms import PaperMandateForm, ReminderSettingsForm
from finance.services import FinanceError
from finance.services.statement_files import statement_parse
from members.forms import AddressForm, HouseholdSearchForm
from members.imports.checks import check_member_file
from members.imports.reading import parse_member_file
from members.selectors import member_list
from members.views.documents import LettersPrintedForm

from .conftest import make_persona
from .test_access import world  # noqa: F401 - the access test's objects, as a fixture
from .test_import import csv_bytes, row

VALUES = ["²", "٣", "1²", "99999999999999999999", "-1", "1e3"]
# Beyond what a Python int() reads from a string at all (4300 digits).
TOO_LONG = "9" * 5000

# url name -> (kwargs builder, persona, query parameters it reads, fixed parameters)
PAGES = {
    "members:member_list": (None, "coordinator", ["q", "buurt", "status", "sort", "page"], {}),
    "members:member_export_csv": (None, "coordinator", ["q", "buurt"], {}),
    "members:member_export_xlsx": (None, "coordinator", ["q", "buurt"], {}),
    "members:member_create": (
        None,
        "coordinator",
        ["huishouden", "zoek_huisnummer", "zoek_postcode"],
        {"zoek_postcode": "7911 AA"},
    ),
    "members:member_move": (
        lambda w: {"pk": w["other"].pk},
        "coordinator",
        ["huishouden", "zoek_huisnummer"],
        {"zoek_postcode": "7911 AA"},
    ),
    "members:letter_print": (None, "coordinator", ["id", "tot"], {}),
    "finance:invoice_list": (None, "treasurer", ["q", "year", "buurt", "page"], {}),
    "finance:invoice_export_csv": (None, "treasurer", ["q", "year", "buurt"], {}),
    "finance:invoice_export_xlsx": (None, "treasurer", ["q", "year", "buurt"], {}),
    "finance:ledger_export_csv": (None, "treasurer", ["q", "year", "buurt"], {}),
    "finance:ledger_export_xlsx": (None, "treasurer", ["q", "year", "buurt"], {}),
    "finance:dues_status": (None, "treasurer", ["q", "year", "buurt", "page", "toon"], {}),
    "finance:payment_return": (lambda w: {"pk": w["own_invoice"].pk}, "member", ["betaling"], {}),
    "finance:payment_list": (None, "treasurer", ["page", "aandacht"], {}),
    "finance:mandate_list": (None, "treasurer", ["q", "status", "page"], {}),
    "finance:batch_list": (None, "treasurer", ["page"], {}),
    "finance:batch_detail": (lambda w: {"pk": w["batch"].pk}, "treasurer", ["page"], {}),
    "finance:statement_import": (None, "treasurer", ["page"], {}),
    "finance:statement_detail": (
        lambda w: {"pk": w["statement"].pk},
        "treasurer",
        ["page", "status"],
        {},
    ),
    "finance:unmatched_list": (None, "treasurer", ["page"], {}),
    "finance:overpaid_list": (None, "treasurer", ["page"], {}),
    "finance:call_list": (None, "treasurer", ["page"], {}),
    "dashboard:outbox_failed": (None, "treasurer", ["page"], {}),
}
# What a page may answer to a value it cannot use: itself (an error or an empty list), a way back
# (letter_print without letters, payment_return without a payment) or not found.
ANSWERS = {200, 302, 404}


def _page_cases():
    return [(name, param) for name, (_, _, params, _) in PAGES.items() for param in params]


@pytest.mark.django_db
@pytest.mark.parametrize(("url_name", "param"), _page_cases())
def test_a_number_parameter_never_crashes_a_page(client, world, url_name, param):  # noqa: F811
    kwargs_builder, persona_name, _params, fixed = PAGES[url_name]
    user = make_persona(persona_name)
    objects = world(user)
    client.force_login(user)
    url = reverse(url_name, kwargs=kwargs_builder(objects) if kwargs_builder else None)
    for value in [*VALUES, TOO_LONG]:
        response = client.get(url, {**fixed, param: value})
        assert response.status_code in ANSWERS, f"{url}?{param}={value[:20]}"


@pytest.mark.django_db
def test_the_member_page_for_a_payment_falls_back_to_the_latest_payment(client, world):  # noqa: F811
    """The page the issue named: reachable by any member with an invoice of their own."""
    user = make_persona("member")
    objects = world(user)
    invoice = objects["own_invoice"]
    payment = invoice.payments.create(
        provider="demo", provider_id="demo_own", amount=Decimal("10.00"), status="paid"
    )
    client.force_login(user)
    url = reverse("finance:payment_return", kwargs={"pk": invoice.pk})
    for value in VALUES:
        response = client.get(url, {"betaling": value})
        assert response.status_code == 200
        assert response.context["payment"] == payment


def _login_for(client, path):
    persona_name = "coordinator"
    if path.startswith("/financien/"):
        persona_name = "treasurer"
    elif path.startswith("/mijn/"):
        persona_name = "member"
    client.force_login(make_persona(persona_name))


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    [
        "/leden/²/",
        "/leden/٣/",
        "/mijn/facturen/²/betaald/",
        "/mijn/facturen/٣/betaald/",
        "/financien/facturen/１/",
        "/financien/contributierun/٢٠٢٦/",
    ],
)
def test_an_id_in_the_path_in_other_digits_matches_no_url(client, path):
    """Django's <int:> converter reads [0-9]+ only."""
    _login_for(client, path)
    assert client.get(path).status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/leden/99999999999999999999/", 404),
        ("/financien/facturen/99999999999999999999/", 404),
        ("/mijn/facturen/99999999999999999999/betaald/", 404),
        ("/financien/regelingen/99999999999999999999/wijzigen/", 404),
        # No scheme for that year: back to the list of schemes.
        ("/financien/contributierun/99999999999999999999/", 302),
    ],
)
def test_an_id_in_the_path_beyond_the_database_is_not_found(client, path, status):
    _login_for(client, path)
    assert client.get(path).status_code == status


@pytest.mark.django_db
def test_every_page_of_the_access_table_survives_odd_numbers_everywhere(client, world):  # noqa: F811
    """Each GET page of the access table, as a persona that may open it, with every parameter
    name any page reads set to each odd value at once."""
    from .test_access import TABLE

    names = sorted({param for _, _, params, _ in PAGES.values() for param in params})
    personas = {"member": make_persona("member")}
    objects = world(personas["member"])
    for url_name, (kwargs_builder, allowed) in sorted(TABLE.items()):
        if not allowed or url_name == "set_language":
            continue
        persona_name = sorted(allowed)[0]
        if persona_name not in personas:
            personas[persona_name] = make_persona(persona_name)
        client.force_login(personas[persona_name])
        url = reverse(url_name, kwargs=kwargs_builder(objects) if kwargs_builder else None)
        for value in VALUES:
            response = client.get(url, dict.fromkeys(names, value))
            assert response.status_code < 500, f"{url} with {value}"


# The search itself: a term in other digits is a name, not a member number ---------------------


@pytest.mark.django_db
def test_a_search_in_other_digits_finds_no_member_by_number(world):  # noqa: F811
    objects = world(None)
    member = objects["other"]
    assert list(member_list(q=str(member.number), status="alle")) == [member]
    arabic = str(member.number).translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    assert list(member_list(q=arabic, status="alle")) == []
    assert list(member_list(q="²", status="alle")) == []
    assert list(member_list(q="99999999999999999999", status="alle")) == []


@pytest.mark.django_db
def test_a_buurt_in_other_digits_filters_nothing_out(world):  # noqa: F811
    objects = world(None)
    buurt = objects["buurt"]
    assert objects["other"] in member_list(buurt=str(buurt.pk), status="alle")
    everyone = set(member_list(status="alle"))
    arabic = str(buurt.pk).translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    assert set(member_list(buurt=arabic, status="alle")) == everyone
    assert set(member_list(buurt="²", status="alle")) == everyone


# Forms: a form error, never an exception, and never '٣' read as 3 ------------------------------


FORM_FIELDS = [
    (AddressForm, "house_number", {"street": "Dorpsstraat", "postcode": "7911 AA", "town": "X"}),
    (HouseholdSearchForm, "zoek_huisnummer", {"zoek_postcode": "7911 AA"}),
    (InvoiceFilterForm, "year", {}),
    (SchemeForm, "year", {}),
    (SchemeForm, "due_days", {}),
    (PaperMandateForm, "member_number", {}),
    (ReminderSettingsForm, "first_reminder_days", {}),
    (LettersPrintedForm, "up_to", {}),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("form_class", "field", "data"), FORM_FIELDS)
def test_a_number_field_refuses_other_digits_with_a_form_error(form_class, field, data):
    for value in [*VALUES, TOO_LONG, "３"]:
        form = form_class(data={**data, field: value})
        assert not form.is_valid()
        assert field in form.errors, value


@pytest.mark.django_db
def test_a_number_field_still_takes_plain_digits():
    form = AddressForm(
        data={"street": "Dorpsstraat", "house_number": " 12 ", "postcode": "7911AA", "town": "X"}
    )
    assert form.is_valid(), form.errors
    assert form.cleaned_data["house_number"] == 12
    assert not AddressForm(data={"house_number": "0"}).is_valid()
    form = ReminderSettingsForm(
        data={"first_reminder_days": "14", "second_reminder_days": "7", "call_list_days": "30"}
    )
    assert form.is_valid(), form.errors
    assert form.cleaned_data["first_reminder_days"] == 14


@pytest.mark.parametrize(
    "text", ["NaN", "nan", "sNaN", "Infinity", "1e3", "٣,٥٠", "²", "1_000", "7,5,0", "--7"]
)
def test_an_amount_is_plain_digits_with_a_comma_or_a_point(text):
    with pytest.raises(ValueError):
        parse_money(text)


@pytest.mark.parametrize(
    ("text", "amount"),
    [("7,50", "7.50"), ("7.50", "7.50"), ("€ 1.234,56", "1234.56"), ("25", "25.00"), ("-3", "-3")],
)
def test_an_amount_as_people_type_it(text, amount):
    assert parse_money(text) == Decimal(amount)


@pytest.mark.django_db
@pytest.mark.parametrize("text", ["NaN", "1e3", "٣,٥٠"])
def test_a_money_field_answers_nan_with_a_form_error(text):
    form = ManualPaymentForm(data={"amount": text, "booked_on": "2026-02-01"})
    assert not form.is_valid()
    assert "amount" in form.errors


# Posting odd numbers to the pages themselves: nothing is saved and nothing crashes ----------------


def _with_token(data: dict, user) -> dict:
    """The one-time token a rendered form carries, so the form itself is what answers."""
    return {**data, FORM_TOKEN_FIELD: form_token_new(user_id=user.pk)}


@pytest.mark.django_db
def test_posting_odd_numbers_saves_nothing(client, world):  # noqa: F811
    treasurer = make_persona("treasurer")
    objects = world(treasurer)
    client.force_login(treasurer)
    schemes = ContributionScheme.objects.count()
    mandates = Mandate.objects.count()
    for value in [*VALUES, "NaN"]:
        scheme = {
            "year": value,
            "first_member_amount": value,
            "further_member_amount": "7,50",
            "reduced_amount": "5,00",
            "mid_year": "full",
            "due_days": value,
            "description": "Contributie",
        }
        response = client.post(reverse("finance:scheme_create"), _with_token(scheme, treasurer))
        assert response.status_code == 200
        assert "year" in response.context["form"].errors
        paper = {
            "member_number": value,
            "account_holder": "J. de Vries",
            "iban": "NL91ABNA0417164300",
            "signed_on": "2026-01-01",
        }
        response = client.post(
            reverse("finance:mandate_record_paper"), _with_token(paper, treasurer)
        )
        assert response.status_code == 200
        assert "member_number" in response.context["form"].errors
        payment = {"amount": value, "booked_on": "2026-02-01", "note": ""}
        url = reverse("finance:invoice_payment_manual", kwargs={"pk": objects["invoice"].pk})
        response = client.post(url, _with_token(payment, treasurer))
        assert response.status_code == 200
        assert "amount" in response.context["form"].errors
    assert ContributionScheme.objects.count() == schemes
    assert Mandate.objects.count() == mandates


@pytest.mark.django_db
def test_a_member_posting_an_odd_house_number_gets_a_form_error(client, world):  # noqa: F811
    user = make_persona("member")
    world(user)
    client.force_login(user)
    household = user.member.household
    for value in VALUES:
        address = {
            "street": "Kerkweg",
            "house_number": value,
            "postcode": "7911 AA",
            "town": "Deventer",
            "changed_on": "2026-01-01",
        }
        response = client.post(reverse("members:portal_address"), _with_token(address, user))
        assert response.status_code == 200
        assert "house_number" in response.context["form"].errors
        household.refresh_from_db()
        assert household.street != "Kerkweg"


@pytest.mark.django_db
def test_a_coordinator_posting_an_odd_letter_id_gets_a_message(client):
    coordinator = make_persona("coordinator")
    client.force_login(coordinator)
    for value in VALUES:
        response = client.post(reverse("members:letter_list"), {"up_to": value})
        assert response.status_code == 302
        said = [str(m) for m in get_messages(response.wsgi_request)]
        assert any("Dat ging niet goed" in text for text in said), (value, said)


@pytest.mark.django_db
def test_an_import_file_with_odd_numbers_lists_them_per_row():
    rows = [
        row(Lidnummer="²"),
        row(Lidnummer="٣"),
        row(Lidnummer="99999999999999999999"),
        row(Lidnummer="-1"),
        row(Huisnummer="٣"),
        row(Huisnummer="²"),
        row(Lidnummer="12", Huisnummer="3"),
    ]
    parsed = parse_member_file(name="leden.csv", data=csv_bytes(rows))
    _rows, errors = check_member_file(parsed, excel=False)
    assert [(e.row, e.column.split(" (")[0]) for e in errors] == [
        (2, "Lidnummer"),
        (3, "Lidnummer"),
        (4, "Lidnummer"),
        (5, "Lidnummer"),
        (6, "Huisnummer"),
        (7, "Huisnummer"),
    ]


CAMT = Path(__file__).parent / "fixtures" / "camt" / "transfer.xml"


@pytest.mark.parametrize("amount", ["NaN", "1e3", "٣.٠٠", "Infinity"])
def test_a_bank_statement_with_an_odd_amount_is_refused_with_a_message(amount):
    content = CAMT.read_bytes()
    assert b">10.00</Amt>" in content
    odd = content.replace(b">10.00</Amt>", f">{amount}</Amt>".encode(), 1)
    with pytest.raises(FinanceError, match="onleesbaar"):
        statement_parse(odd)


@pytest.mark.django_db
def test_the_admin_survives_odd_numbers(client):
    """Its search boxes (a member's number), page numbers, sort orders and object ids."""
    client.force_login(make_persona("admin"))
    for model in admin.site._registry:
        base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        for value in VALUES:
            for params in ({"q": value}, {"p": value}, {"o": value}, {"id__exact": value}):
                assert client.get(base, params).status_code < 500, (base, params)
            for action in ("change", "delete", "history"):
                assert client.get(f"{base}{value}/{action}/").status_code < 500, (base, action)


# The helper -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "²",
        "٣",
        "1²",
        "３",
        "",
        " ",
        "-1",
        "+1",
        "1e3",
        "1.0",
        "0x10",
        "1_000",
        "0",
        None,
        12,
        TOO_LONG,
    ],
)
def test_parse_id_refuses_anything_but_plain_digits(value):
    assert parse_id(value) is None


def test_parse_id_takes_plain_digits_up_to_bigint():
    assert parse_id("1") == 1
    assert parse_id(" 42 ") == 42
    assert parse_id("007") == 7
    assert parse_id(str(BIGINT_MAX)) == BIGINT_MAX
    assert parse_id(str(BIGINT_MAX + 1)) is None
    assert parse_id("99999999999999999999") is None


def test_parse_int_bounds_and_sign():
    assert parse_int("-1") == -1
    assert parse_int("-1", minimum=0) is None
    assert parse_int("0") == 0
    assert parse_int("366", maximum=365) is None
    assert parse_int("٣") is None
    assert parse_int("- 1") is None
    assert is_ascii_digits("0123")
    assert not is_ascii_digits("٣")
    assert not is_ascii_digits("²")
    assert not is_ascii_digits("")
    assert not is_ascii_digits("-1")


def test_no_view_reads_a_number_from_the_request_with_int_or_isdigit():
    """int() reads '٣' and fails on '²', isdigit() says yes to both: query strings and forms
    go through coop.lib.numbers (or a form's WholeNumberField)."""
    root = Path(__file__).resolve().parent.parent
    pattern = re.compile(
        r"\bint\(\s*(self\.)?request\.(GET|POST)|request\.(GET|POST)\S*\.isdigit\("
    )
    offenders = [
        f"{path.relative_to(root)}:{number}"
        for package in ("coop", "members", "finance", "reports")
        for path in (root / package).rglob("*.py")
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    assert offenders == []
