"""Finding a member by address or phone number, next to the name search; indexes and bench."""

import csv
import importlib
import io
import re
from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_scopes import scopes_disabled

from coop.lib.phone import phone_digits
from members import bench, selectors
from members.imports.services import member_import_confirm, member_import_upload
from members.models import Household, Member
from members.services import Person, member_register, member_update

from .factories import BuurtFactory, HouseholdFactory, MemberFactory, PostcodeRangeFactory

pytestmark = pytest.mark.django_db

LIST = reverse("members:member_list")
CSV = reverse("members:member_export_csv")
MIGRATION = importlib.import_module("members.migrations.0005_member_search")


@pytest.fixture
def street():
    """Lindeplein 28, 28A, 28-1 and 30; Lindelaan 28 and Kerkweg 28a nearby; a Bergweg."""
    buurt = BuurtFactory(name="Parkzicht")
    PostcodeRangeFactory(buurt=buurt, start="7343 AA", end="7343 ZZ")

    def household(street, number, addition="", postcode="7343 AB"):
        return HouseholdFactory(
            street=street,
            house_number=number,
            house_number_addition=addition,
            postcode=postcode,
            buurt=buurt,
        )

    def member(given, tussenvoegsel, family, at, phone=""):
        return MemberFactory(
            given_name=given,
            tussenvoegsel=tussenvoegsel,
            family_name=family,
            household=at,
            phone=phone,
        )

    return {
        "marie": member("Marie", "", "Jansen", household("Lindeplein", 28), "0555-120936"),
        "kees": member(
            "Kees", "de", "Boer", household("Lindeplein", 28, "A"), "+31 (0)6 1234 5678"
        ),
        "lotte": member("Lotte", "", "Visser", household("Lindeplein", 28, "1")),
        "sanne": member("Sanne", "", "Bakker", household("Lindeplein", 30), "0612345679"),
        "truus": member("Truus", "", "Kok", household("Lindelaan", 28, postcode="7343 CD")),
        "piet": member("Piet", "", "Smit", household("Kerkweg", 28, "a", postcode="7343 EF")),
        "henk": member("Henk", "", "Mulder", household("Bergweg", 5, postcode="7343 GH")),
        "jan": member("Jan", "van den", "Berg", household("Kerkweg", 3, postcode="7343 EF")),
    }


def names(q: str) -> list[str]:
    return [m.full_name for m in selectors.member_list(q=q)]


AT_28 = ["Kees de Boer", "Marie Jansen", "Lotte Visser"]
ON_LINDEPLEIN = ["Sanne Bakker", "Kees de Boer", "Marie Jansen", "Lotte Visser"]


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        # Street and house number: every address at that number, with or without addition.
        ("Lindeplein 28", AT_28),
        ("lindeplein 28", AT_28),
        ("  LINDEPLEIN   28 ", AT_28),
        ("Lindeplein28", AT_28),
        ("Lindeplein 28A", ["Kees de Boer"]),
        ("lindeplein 28a", ["Kees de Boer"]),
        ("lindeplein 28-a", ["Kees de Boer"]),
        ("Lindeplein 28 A", ["Kees de Boer"]),
        ("Lindeplein 28-1", ["Lotte Visser"]),
        ("Lindeplein 28B", []),
        ("Lindeplein 30", ["Sanne Bakker"]),
        ("Lindeplein 29", []),
        ("plein 28", AT_28),
        ("7343 AB 28", AT_28),
        ("7343ab 28a", ["Kees de Boer"]),
        # A street alone: everyone on it; part of a street finds every street with it.
        ("Lindeplein", ON_LINDEPLEIN),
        ("lindeplein", ON_LINDEPLEIN),
        ("linde", ["Sanne Bakker", "Kees de Boer", "Marie Jansen", "Truus Kok", "Lotte Visser"]),
        # A house number with addition, on any street.
        ("28A", ["Kees de Boer", "Piet Smit"]),
        ("28a", ["Kees de Boer", "Piet Smit"]),
        ("28-1", ["Lotte Visser"]),
        # Phone numbers however they are typed.
        ("0555-120936", ["Marie Jansen"]),
        ("0555 120 936", ["Marie Jansen"]),
        ("0555120936", ["Marie Jansen"]),
        ("+31555120936", ["Marie Jansen"]),
        ("+31 555 120 936", ["Marie Jansen"]),
        ("0031555120936", ["Marie Jansen"]),
        ("(0555) 12 09 36", ["Marie Jansen"]),
        ("0555 12", ["Marie Jansen"]),  # the start of a number
        ("06-12345678", ["Kees de Boer"]),
        ("0612345678", ["Kees de Boer"]),
        ("+31 6 12345678", ["Kees de Boer"]),
        ("06-1234567", ["Sanne Bakker", "Kees de Boer"]),
        ("06-99999999", []),
        # Names as before; a word in both a name and a street finds both.
        ("jansen", ["Marie Jansen"]),
        ("van den berg", ["Jan van den Berg"]),
        ("berg", ["Jan van den Berg", "Henk Mulder"]),
        ("kerkweg", ["Jan van den Berg", "Piet Smit"]),
        ("nergens", []),
    ],
)
def test_search(street, q, expected):
    assert names(q) == expected


def test_member_number_and_postcode_still_found(street):
    marie = street["marie"]
    assert names(str(marie.number)) == ["Marie Jansen"]
    assert names("7343 cd") == ["Truus Kok"]


def test_a_long_number_is_a_member_number_or_a_phone_number(street):
    Member.objects.filter(pk=street["jan"].pk).update(number=555120936)
    assert names("0555120936") == ["Jan van den Berg", "Marie Jansen"]


def test_ended_members_follow_the_status_filter(street):
    kees = street["kees"]
    Member.objects.filter(pk=kees.pk).update(status=Member.Status.CANCELLED, ended_on="2024-01-01")
    assert names("Lindeplein 28") == ["Marie Jansen", "Lotte Visser"]
    everyone = selectors.member_list(q="06 12345678", status="alle")
    assert [m.full_name for m in everyone] == ["Kees de Boer"]


# The normalised phone number ----------------------------------------------------------------

TYPED_PHONES = {
    "0555-120936": "0555120936",
    "0555 120 936": "0555120936",
    "+31555120936": "0555120936",
    "0031555120936": "0555120936",
    "+31 (0)555 120936": "0555120936",
    "+31 06 12345678": "0612345678",
    "06-12345678": "0612345678",
    "(0555) 12.09.36": "0555120936",
    " +49 30 1234567": "0049301234567",
    "0049 30 1234567": "0049301234567",
    "": "",
    "onbekend": "",
}


@pytest.mark.parametrize(("typed", "digits"), TYPED_PHONES.items())
def test_phone_digits(typed, digits):
    assert phone_digits(typed) == digits
    assert MIGRATION._phone_digits(typed) == digits  # the migration's copy for SQLite


def test_migration_sql_fills_the_same_digits(on_postgres):
    household = HouseholdFactory()
    for typed in TYPED_PHONES:
        MemberFactory(household=household, phone=typed)
    Member.objects.update(phone_digits="")
    with connection.cursor() as cursor:
        cursor.execute(MIGRATION.FILL_SQL)
    for phone, digits in Member.objects.values_list("phone", "phone_digits"):
        assert digits == phone_digits(phone), phone


def test_services_keep_the_digits(db):
    household = HouseholdFactory()
    member = member_register(
        household=household, person=Person(given_name="Ria", family_name="Kok", phone="+31 6 11")
    )
    assert member.phone_digits == "0611"
    member = member_update(
        member=member,
        person=Person(given_name="Ria", family_name="Kok", phone=" 0555 - 12 34 56 "),
    )
    member.refresh_from_db()
    assert (member.phone, member.phone_digits) == ("0555 - 12 34 56", "0555123456")
    assert names("0555-123456") == ["Ria Kok"]
    member_update(member=member, person=Person(given_name="Ria", family_name="Kok"))
    member.refresh_from_db()
    assert member.phone_digits == ""


def test_import_keeps_the_digits(coordinator):
    header = "Voornaam;Achternaam;Telefoon;Straat;Huisnummer;Toevoeging;Postcode;Plaats"
    lines = [header, "Gerda;Postma;+31 (0)6-2233 4455;Lindeplein;28;b;7343 AB;Apeldoorn"]
    content = ("\r\n".join(lines) + "\r\n").encode()
    member_import = member_import_upload(
        file=SimpleUploadedFile("leden.csv", content), by=coordinator
    )
    assert member_import_confirm(member_import=member_import, by=coordinator) == 1
    gerda = Member.objects.get(family_name="Postma")
    assert gerda.phone_digits == "0622334455"
    assert names("06 22334455") == names("Lindeplein 28b") == ["Gerda Postma"]


# The list page and its export -------------------------------------------------------------


def page_numbers(response) -> list[str]:
    return re.findall(
        r'<td class="number" data-label="[^"]*">(\d+)</td>', response.content.decode()
    )


def csv_numbers(response) -> list[str]:
    raw = b"".join(response.streaming_content).decode("utf-8-sig")
    return [row[0] for row in list(csv.reader(io.StringIO(raw), delimiter=";"))[1:]]


@pytest.mark.parametrize(
    "q", ["Lindeplein 28", "lindeplein", "28A", "0555 120 936", "+31612345678", "berg"]
)
def test_page_and_csv_export_agree(street, coordinator_client, q):
    page = coordinator_client.get(LIST, {"q": q})
    assert page.status_code == 200
    numbers = page_numbers(page)
    assert numbers == [str(m.number) for m in selectors.member_list(q=q)]
    assert numbers
    assert csv_numbers(coordinator_client.get(CSV, {"q": q})) == numbers
    assert f'value="{q}"' in page.content.decode()


def test_page_shows_what_can_be_searched(coordinator_client):
    content = coordinator_client.get(LIST).content.decode()
    assert "Naam, adres, postcode, telefoonnummer, lidnummer of e-mailadres" in content


def test_search_costs_the_same_queries_as_the_plain_list(street, coordinator_client):
    def counted(params) -> int:
        with CaptureQueriesContext(connection) as captured:
            response = coordinator_client.get(LIST, params)
        assert response.status_code == 200 and page_numbers(response)
        return len(captured)

    plain = counted({})
    for q in ["Lindeplein 28", "Lindeplein 28A", "lindeplein", "28A", "0555-120936", "berg"]:
        assert counted({"q": q}) == plain, q
    MemberFactory.create_batch(30, household=street["marie"].household)
    assert counted({"q": "Lindeplein 28"}) == plain


# Indexes on PostgreSQL ------------------------------------------------------------------------


SCANS = ("enable_seqscan", "enable_indexscan", "enable_indexonlyscan")


def plan(q: str) -> str:
    """The plan of the search when a table can only be read through an index that answers a
    condition (bitmap scans): what the planner picks for a large register, and on a handful
    of rows too, where it would otherwise just read the table. Without the cooperative's filter:
    on a handful of rows the planner would rather read the organisation index and recheck."""
    with scopes_disabled():
        members = Member.objects.filter(selectors.member_search_filter(q)).order_by().values("pk")
    with connection.cursor() as cursor:
        for setting in SCANS:
            cursor.execute(f"SET LOCAL {setting} = off")
    try:
        return members.explain()
    finally:
        with connection.cursor() as cursor:
            for setting in SCANS:
                cursor.execute(f"RESET {setting}")


@pytest.mark.parametrize(
    ("q", "indexes"),
    [
        ("0555 120 936", ["member_phone_digits"]),
        ("+31555120936", ["member_phone_digits"]),
        ("lindeplein", ["household_street_trgm", "members_member_household_id"]),
        ("berg", ["member_search_name_trgm", "household_street_trgm", "BitmapOr"]),
        ("Lindeplein 28", ["household_street_trgm|household_house_number"]),
        ("28A", ["household_house_number"]),
    ],
)
def test_searches_use_their_index(street, on_postgres, q, indexes):
    """Each name (or one of name|name) is in the plan; 'berg' reads both indexes at once."""
    found = plan(q)
    for index in indexes:
        assert any(name in found for name in index.split("|")), (index, found)


def test_phone_index_has_pattern_ops(on_postgres):
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'member_phone_digits'")
        (definition,) = cursor.fetchone()
    assert "varchar_pattern_ops" in definition


# The bench and the demo ---------------------------------------------------------------------


def test_bench_has_the_new_searches(coordinator_client):
    for name in ("members.search_address", "members.search_phone"):
        assert bench.TARGETS[name] == {"max_baseline_ratio": 15, "max_queries": 12}
    household = HouseholdFactory(street="Lindelaan", house_number=28)
    landline = MemberFactory(household=household, phone="055-1234567")
    operations = {operation.name: operation for operation in bench.operations()}
    assert {"members.search_address", "members.search_phone"} <= set(operations)
    assert bench._phone_as_typed() == "+31 55 123 4567"
    assert names(bench._phone_as_typed()) == names("Lindelaan 28") == [landline.full_name]
    for name in ("members.search_address", "members.search_phone"):
        assert operations[name].run(coordinator_client) > 0  # answered 200, read to the end


def test_demo_has_lindeplein_28_and_digits_for_every_phone(db):
    call_command("demo", "--households", "20", stdout=StringIO())
    assert Household.objects.filter(street="Lindeplein", house_number=28).exists()
    assert names("Lindeplein 28")
    phones = Member.objects.exclude(phone="").values_list("phone", "phone_digits")
    assert phones
    for phone, digits in phones:
        assert digits == phone_digits(phone)
