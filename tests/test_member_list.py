"""The coordinator's member list: search, filters, sorting, paging, exports, access, bench."""

import csv
import datetime as dt
import io
import json

import pytest
from django.core.management import call_command
from django.urls import reverse
from openpyxl import load_workbook

from members import selectors
from members.models import Member

from .factories import BuurtFactory, HouseholdFactory, MemberFactory, PostcodeRangeFactory

LIST = reverse("members:member_list")
CSV = reverse("members:member_export_csv")
XLSX = reverse("members:member_export_xlsx")


@pytest.fixture
def register(db):
    """Five residents in two buurten and one address outside the service area."""
    centrum = BuurtFactory(name="Centrum")
    noord = BuurtFactory(name="Noord")
    PostcodeRangeFactory(buurt=centrum, start="7911 AA", end="7911 ZZ")
    PostcodeRangeFactory(buurt=noord, start="7912 AA", end="7912 ZZ")
    dorpsstraat = HouseholdFactory(
        street="Dorpsstraat", house_number=1, postcode="7911 AB", buurt=centrum
    )
    kerkweg = HouseholdFactory(street="Kerkweg", house_number=12, postcode="7912 CD", buurt=noord)
    buiten = HouseholdFactory(street="Verweg", house_number=3, postcode="8011 AA", buurt=None)

    def member(given, tussenvoegsel, family, household, **extra):
        return MemberFactory(
            given_name=given,
            tussenvoegsel=tussenvoegsel,
            family_name=family,
            household=household,
            **extra,
        )

    return {
        "jan": member(
            "Jan",
            "van der",
            "Berg",
            dorpsstraat,
            email="jan@example.org",
            joined_on=dt.date(2020, 5, 1),
        ),
        "anna": member(
            "Anna",
            "",
            "Bergsma",
            kerkweg,
            email="anna.bergsma@example.org",
            status=Member.Status.APPLIED,
            joined_on=None,
        ),
        "piet": member(
            "Piet",
            "de",
            "Vries",
            buiten,
            email="",
            phone="0612345678",
            joined_on=dt.date(2019, 1, 1),
        ),
        "aart": member(
            "Aart",
            "",
            "Zandbergen",
            kerkweg,
            email="aart@example.org",
            joined_on=dt.date(2023, 3, 3),
        ),
        "karel": member(
            "Karel",
            "",
            "Appel",
            dorpsstraat,
            email="karel@example.org",
            status=Member.Status.CANCELLED,
            ended_on=dt.date(2024, 6, 1),
            end_reason="Verhuisd",
        ),
        "centrum": centrum,
        "noord": noord,
    }


def names(members) -> list[str]:
    return [m.full_name for m in members]


# Search -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("van der Berg", ["Jan van der Berg"]),
        ("Jan van der Berg", ["Jan van der Berg"]),
        ("berg", ["Jan van der Berg", "Anna Bergsma", "Aart Zandbergen"]),
        ("BERG", ["Jan van der Berg", "Anna Bergsma", "Aart Zandbergen"]),
        ("  de   vries ", ["Piet de Vries"]),
        ("7911", ["Jan van der Berg"]),
        ("7911ab", ["Jan van der Berg"]),
        ("7911 AB", ["Jan van der Berg"]),
        ("7911 ab", ["Jan van der Berg"]),
        ("7911a", ["Jan van der Berg"]),
        ("7912 C", ["Anna Bergsma", "Aart Zandbergen"]),
        ("JAN@example", ["Jan van der Berg"]),
        ("@example.org", ["Jan van der Berg", "Anna Bergsma", "Aart Zandbergen"]),
        ("nobody", []),
        ("7999", []),
    ],
)
def test_search(register, q, expected):
    assert names(selectors.member_list(q=q)) == expected


def test_search_by_member_number(register):
    piet = register["piet"]
    assert names(selectors.member_list(q=str(piet.number))) == ["Piet de Vries"]
    assert names(selectors.member_list(q=f" {piet.number} ")) == ["Piet de Vries"]
    assert names(selectors.member_list(q="99999999999999")) == []


def test_four_digits_match_a_member_number_or_a_postcode_area(register):
    jan, karel = register["jan"], register["karel"]
    Member.objects.filter(pk=karel.pk).update(
        number=7911,
        status=Member.Status.ACTIVE,
        ended_on=None,
        household=register["anna"].household,
    )
    assert names(selectors.member_list(q="7911")) == ["Karel Appel", "Jan van der Berg"]
    assert jan.number != 7911


def test_search_through_the_page(register, coordinator_client):
    response = coordinator_client.get(LIST, {"q": "7911 ab"})
    assert response.status_code == 200
    content = response.content.decode()
    assert "Jan van der Berg" in content
    assert "Bergsma" not in content
    assert 'value="7911 ab"' in content


# Filters ----------------------------------------------------------------------------------------


def test_default_shows_current_members_only(register):
    assert "Karel Appel" not in names(selectors.member_list())
    assert len(selectors.member_list()) == 4


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("aangemeld", ["Anna Bergsma"]),
        ("opgezegd", ["Karel Appel"]),
        ("overleden", []),
        (
            "alle",
            ["Karel Appel", "Jan van der Berg", "Anna Bergsma", "Piet de Vries", "Aart Zandbergen"],
        ),
    ],
)
def test_status_filter(register, status, expected):
    assert names(selectors.member_list(status=status)) == expected


def test_buurt_filter(register):
    assert names(selectors.member_list(buurt=str(register["noord"].pk))) == [
        "Anna Bergsma",
        "Aart Zandbergen",
    ]
    assert names(selectors.member_list(buurt="buiten")) == ["Piet de Vries"]
    centrum = str(register["centrum"].pk)
    assert names(selectors.member_list(buurt=centrum, status="alle")) == [
        "Karel Appel",
        "Jan van der Berg",
    ]


def test_filters_combine_through_the_page(register, coordinator_client):
    response = coordinator_client.get(
        LIST, {"q": "berg", "buurt": register["noord"].pk, "status": "actief"}
    )
    rows = response.content.decode().split("<tbody>")[1]
    assert "Aart Zandbergen" in rows
    assert "Bergsma" not in rows  # applied, not active
    assert "van der Berg" not in rows  # other buurt


def test_bad_filter_values_fall_back_to_defaults(register, coordinator_client):
    response = coordinator_client.get(
        LIST, {"status": "weg", "buurt": "999999", "sort": "x", "page": "abc"}
    )
    assert response.status_code == 200
    body = response.content.decode().split("<tbody>")[1]
    assert body.index("Jan van der Berg") < body.index("Piet de Vries")
    assert "Karel Appel" not in body


# Sorting ----------------------------------------------------------------------------------------


def test_sorted_under_family_name(register):
    assert names(selectors.member_list()) == [
        "Jan van der Berg",
        "Anna Bergsma",
        "Piet de Vries",
        "Aart Zandbergen",
    ]
    assert names(selectors.member_list(sort="-name"))[0] == "Aart Zandbergen"


def test_other_sort_orders(register):
    by_number = [m.number for m in selectors.member_list(sort="number")]
    assert by_number == sorted(by_number)
    assert [m.number for m in selectors.member_list(sort="-number")] == sorted(
        by_number, reverse=True
    )
    assert [m.household.postcode for m in selectors.member_list(sort="postcode")] == [
        "7911 AB",
        "7912 CD",
        "7912 CD",
        "8011 AA",
    ]
    assert names(selectors.member_list(sort="joined")) == [
        "Piet de Vries",
        "Jan van der Berg",
        "Aart Zandbergen",
        "Anna Bergsma",  # not joined yet: last
    ]


def test_sort_headers_keep_the_filters_and_mark_the_active_column(register, coordinator_client):
    response = coordinator_client.get(LIST, {"q": "berg", "sort": "name", "page": "1"})
    content = response.content.decode()
    assert 'aria-sort="ascending"' in content
    assert content.count("aria-sort=") == 1
    assert (
        'href="?q=berg&amp;sort=-name"' in content
    )  # clicking again reverses, filters kept, page dropped
    assert 'href="?q=berg&amp;sort=number"' in content
    response = coordinator_client.get(LIST, {"sort": "-name"})
    assert 'aria-sort="descending"' in response.content.decode()


# Pagination and the number of queries ---------------------------------------------------------


def test_pagination(register, coordinator_client, settings):
    settings.COOP_MEMBER_LIST_PAGE_SIZE = 2
    first = coordinator_client.get(LIST).content.decode()
    assert "4 leden gevonden" in first
    assert "Pagina 1 van 2" in first
    assert "Jan van der Berg" in first and "Piet de Vries" not in first
    assert 'href="?page=2"' in first
    second = coordinator_client.get(LIST, {"page": 2}).content.decode()
    assert "Piet de Vries" in second and "Aart Zandbergen" in second
    assert "Jan van der Berg" not in second
    beyond = coordinator_client.get(LIST, {"page": 99}).content.decode()
    assert "Pagina 2 van 2" in beyond


def test_empty_result(register, coordinator_client):
    content = coordinator_client.get(LIST, {"q": "niemand"}).content.decode()
    assert "Geen leden gevonden" in content
    assert "0 leden gevonden" in content


def test_rows_link_to_member_and_household(register, coordinator_client):
    jan = register["jan"]
    content = coordinator_client.get(LIST).content.decode()
    assert f'href="{reverse("members:member_detail", args=[jan.pk])}"' in content
    assert f'href="{reverse("members:household_detail", args=[jan.household_id])}"' in content
    assert "Dorpsstraat 1" in content
    assert 'class="badge badge--aangemeld">Aangemeld<' in content
    assert "Buiten werkgebied" in content  # Piet's buurt
    assert 'data-label="Postcode">7912 CD<' in content
    assert 'href="tel:0612345678"' in content


def test_rows_escape_what_people_typed(register, coordinator_client):
    Member.objects.filter(pk=register["jan"].pk).update(
        given_name="<script>alert(1)</script>", email='x"onmouseover="y@example.org'
    )
    content = coordinator_client.get(LIST).content.decode()
    assert "<script>alert(1)" not in content
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in content
    assert 'x"onmouseover' not in content
    assert "x&quot;onmouseover=&quot;y@example.org" in content


def test_constant_number_of_queries(
    db, coordinator_client, settings, django_assert_max_num_queries
):
    """The page costs the same handful of queries for 5 members on a page or 120."""
    settings.COOP_MEMBER_LIST_PAGE_SIZE = 200
    counted = []
    for size in (5, 120):
        MemberFactory.create_batch(size - Member.objects.count())
        with django_assert_max_num_queries(12) as captured:
            response = coordinator_client.get(LIST, {"status": "alle"})
        assert response.content.decode().count('<td class="number"') == size
        counted.append(len(captured))
    assert counted[0] == counted[1]


# Exports ----------------------------------------------------------------------------------------


def read_csv(response) -> tuple[bytes, list[list[str]]]:
    raw = b"".join(response.streaming_content)
    return raw, list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))


def test_csv_export(register, coordinator_client):
    Member.objects.filter(pk=register["jan"].pk).update(
        family_name="=HYPERLINK(1)", phone="+31 6 1234"
    )
    response = coordinator_client.get(CSV, {"status": "alle"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    assert ".csv" in response["Content-Disposition"]
    assert response.streaming
    raw, rows = read_csv(response)
    assert raw.startswith(b"\xef\xbb\xbf")
    assert rows[0] == [
        "lidnummer",
        "voornaam",
        "tussenvoegsel",
        "achternaam",
        "e-mail",
        "telefoon",
        "geboortedatum",
        "straat",
        "huisnummer",
        "toevoeging",
        "postcode",
        "plaats",
        "buurt",
        "status",
        "aangemeld op",
        "lid sinds",
        "lid tot",
    ]
    assert len(rows) == 6
    jan = next(row for row in rows if row[1] == "Jan")
    assert jan[3] == "'=HYPERLINK(1)"
    assert jan[5] == "'+31 6 1234"
    assert jan[10] == "7911 AB"
    assert jan[12] == "Centrum"
    assert jan[13] == "Actief"
    assert jan[15] == "2020-05-01"
    piet = next(row for row in rows if row[1] == "Piet")
    assert piet[12] == "Buiten werkgebied"


def test_csv_export_respects_the_filters(register, coordinator_client):
    _raw, rows = read_csv(coordinator_client.get(CSV, {"q": "berg", "buurt": register["noord"].pk}))
    assert sorted(row[3] for row in rows[1:]) == ["Bergsma", "Zandbergen"]
    _raw, rows = read_csv(coordinator_client.get(CSV))
    assert "Appel" not in [row[3] for row in rows]  # default: current members only


def test_xlsx_export(register, coordinator_client):
    Member.objects.filter(pk=register["jan"].pk).update(family_name="=1+2")
    response = coordinator_client.get(XLSX, {"status": "alle"})
    assert response.status_code == 200
    assert ".xlsx" in response["Content-Disposition"]
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    sheet = workbook.active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:4] == ("lidnummer", "voornaam", "tussenvoegsel", "achternaam")
    assert len(rows) == 6
    jan_row = next(i for i, row in enumerate(rows, 1) if row[1] == "Jan")
    cell = sheet.cell(row=jan_row, column=4)
    assert cell.value == "=1+2"
    assert cell.data_type == "s"  # text, never a formula
    assert sheet.cell(row=jan_row, column=16).value.date() == dt.date(2020, 5, 1)


# Access -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [LIST, CSV, XLSX])
@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("coordinator", 200),
        ("treasurer", 200),
        ("member", 403),
        ("outsider", 403),
        ("buurtassistent", 403),
    ],
)
def test_access(persona, client, url, name, expected):
    client.force_login(persona(name))
    assert client.get(url).status_code == expected


@pytest.mark.parametrize("url", [LIST, CSV, XLSX])
def test_anonymous_goes_to_login(client, db, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_only_coordinators_see_register_and_import(register, client, coordinator, treasurer):
    client.force_login(coordinator)
    content = client.get(LIST).content.decode()
    assert reverse("members:member_create") in content
    assert reverse("members:member_import") in content
    assert "Exporteer CSV" in content and "Exporteer Excel" in content
    client.force_login(treasurer)
    content = client.get(LIST).content.decode()
    assert reverse("members:member_create") not in content
    assert reverse("members:member_import") not in content
    assert "Exporteer CSV" in content


# The benchmark ----------------------------------------------------------------------------------


def test_bench_members_runs_on_its_own_database(db, capsys):
    before = Member.objects.count()
    call_command("bench", "members", "--size", "300", "--runs", "2")
    lines = [
        json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")
    ]
    by_name = {line["bench"]: line for line in lines}
    assert set(by_name) == {
        "members.seed",
        "baseline",
        "members.list",
        "members.search",
        "members.search_postcode",
        "members.search_address",
        "members.search_phone",
        "members.export",
    }
    for line in lines:
        assert line["size"] == 300
        assert line["median_ms"] > 0
        assert line["peak_rss_mb"] > 0
        assert isinstance(line["queries"], int)
    assert by_name["members.list"]["queries"] <= 12
    assert by_name["members.export"]["bytes"] > 300 * 50  # every member, streamed
    assert Member.objects.count() == before  # the test database was not touched
