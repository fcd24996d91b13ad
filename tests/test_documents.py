"""Paper documents: real WeasyPrint PDFs, read back with pypdf."""

import io
import urllib.request

import pytest
from django.core.exceptions import SuspiciousFileOperation
from django.urls import reverse
from pypdf import PdfReader

from coop.core.models import Organisation, OutboxMessage
from coop.lib.pdf import StaticOnlyFetcher, render_pdf
from members.models import Member
from members.services import (
    Address,
    Person,
    household_change_address,
    member_change_status,
    member_update,
)

from .conftest import make_persona
from .factories import BuurtFactory, HouseholdFactory, MemberFactory

pytestmark = pytest.mark.django_db


def pdf_text(content: bytes) -> str:
    """The text of every page, whitespace collapsed (table cells wrap names over lines)."""
    assert content.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(content))
    assert reader.metadata.producer.startswith("WeasyPrint")
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


def pdf_language(content: bytes) -> str:
    return str(PdfReader(io.BytesIO(content)).trailer["/Root"]["/Lang"])


@pytest.fixture
def organisation(db):
    return Organisation.objects.create(
        name="Buurtcoöperatie Zuid",
        street="Marktplein",
        house_number="3",
        postcode="7311 AB",
        town="Apeldoorn",
        phone="055 123 45 67",
        email="info@zuid.example",
    )


@pytest.fixture
def buurten(db):
    return BuurtFactory(name="Zevenhuizen"), BuurtFactory(name="De Maten")


# Welcome letter and membership card ----------------------------------------------------------


def test_welcome_letter_shows_member_address_and_card(coordinator_client, organisation):
    household = HouseholdFactory(
        street="Wilhelminastraat", house_number=12, postcode="7311 CD", town="Apeldoorn"
    )
    member = MemberFactory(
        household=household,
        given_name="Aaltje",
        tussenvoegsel="van der",
        family_name="Veen",
        email="",
    )

    response = coordinator_client.get(reverse("members:member_welcome_letter", args=[member.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert "no-store" in response["Cache-Control"]
    text = pdf_text(response.content)
    assert "Aaltje van der Veen" in text
    assert "Wilhelminastraat 12" in text
    assert "7311 CD APELDOORN" in text
    assert f"Lidnummer: {member.number}" in text
    assert "Lidmaatschapskaart".upper() in text.upper()
    assert "Buurtcoöperatie Zuid" in text
    assert "055 123 45 67" in text
    assert "info@zuid.example" in text
    # The card carries name and number a second time.
    assert text.count("Aaltje van der Veen") >= 2
    assert pdf_language(response.content) == "nl"


def test_welcome_letter_renders_from_the_members_current_data_in_their_language(
    coordinator_client, organisation
):
    member = MemberFactory(
        given_name="Kim", tussenvoegsel="", family_name="Smit", email="", language="en"
    )
    member_update(
        member=member,
        person=Person(given_name="Kim", family_name="de Smit-Jansen", language="en"),
    )
    household_change_address(
        household=member.household,
        address=Address(street="Nieuwe Laan", house_number=5, postcode="7311EF", town="Apeldoorn"),
    )

    response = coordinator_client.get(reverse("members:member_welcome_letter", args=[member.pk]))

    text = pdf_text(response.content)
    assert "Kim de Smit-Jansen" in text
    assert "Nieuwe Laan 5" in text
    assert "7311 EF APELDOORN" in text
    assert pdf_language(response.content) == "en"


def test_welcome_letter_of_an_unknown_member_is_404(coordinator_client):
    assert (
        coordinator_client.get(reverse("members:member_welcome_letter", args=[999999])).status_code
        == 404
    )


# Member list per buurt -------------------------------------------------------------------------


def test_buurt_list_shows_current_members_of_the_buurt_in_walking_order(
    coordinator_client, organisation, buurten
):
    zevenhuizen, de_maten = buurten
    far = HouseholdFactory(
        buurt=zevenhuizen, street="Wilhelminastraat", house_number=2, postcode="7311 AA"
    )
    ten = HouseholdFactory(
        buurt=zevenhuizen, street="Arnhemseweg", house_number=10, postcode="7311 AB"
    )
    four = HouseholdFactory(
        buurt=zevenhuizen, street="Arnhemseweg", house_number=4, postcode="7311 AC"
    )
    elsewhere = HouseholdFactory(buurt=de_maten, street="Laan van de Mensenrechten", house_number=1)
    piet = MemberFactory(
        household=far,
        given_name="Piet",
        tussenvoegsel="",
        family_name="Wolters",
        phone="06 1111 2222",
    )
    anna = MemberFactory(household=ten, given_name="Anna", tussenvoegsel="de", family_name="Vries")
    bert = MemberFactory(
        household=ten,
        given_name="Bert",
        tussenvoegsel="de",
        family_name="Vries",
        status=Member.Status.APPLIED,
        joined_on=None,
    )
    greet = MemberFactory(
        household=four, given_name="Greet", tussenvoegsel="", family_name="Hofman"
    )
    MemberFactory(
        household=four,
        given_name="Gerrit",
        tussenvoegsel="",
        family_name="Hofman",
        status=Member.Status.DECEASED,
        ended_on="2025-03-01",
        end_reason="Overleden",
    )
    MemberFactory(
        household=elsewhere, given_name="Olga", tussenvoegsel="", family_name="Buitenwijk"
    )

    response = coordinator_client.get(
        reverse("members:buurt_member_list_pdf", args=[zevenhuizen.pk])
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    text = pdf_text(response.content)
    assert "Ledenlijst Zevenhuizen" in text
    for member in (piet, anna, bert, greet):
        assert member.full_name in text
        assert str(member.number) in text
    assert "06 1111 2222" in text
    assert "Aangemeld" in text and "Actief" in text
    assert "Notitie" in text
    assert "Olga Buitenwijk" not in text
    assert "Laan van de Mensenrechten" not in text
    assert "Gerrit Hofman" not in text
    assert "De Maten" not in text
    # Grouped by address, in street and house-number order (4 before 10: numbers, not text).
    positions = [
        text.index(address)
        for address in ("Arnhemseweg 4,", "Arnhemseweg 10,", "Wilhelminastraat 2,")
    ]
    assert positions == sorted(positions)
    assert (
        text.index("Arnhemseweg 10,")
        < text.index("Anna de Vries")
        < text.index("Wilhelminastraat 2,")
    )
    assert "Pagina 1 van 1" in text


def test_buurt_list_has_page_numbers_on_every_page(coordinator_client, organisation, buurten):
    zevenhuizen, _ = buurten
    for number in range(1, 41):
        MemberFactory(
            household=HouseholdFactory(buurt=zevenhuizen, street="Dorpsstraat", house_number=number)
        )

    text = pdf_text(
        coordinator_client.get(
            reverse("members:buurt_member_list_pdf", args=[zevenhuizen.pk])
        ).content
    )

    assert "Pagina 1 van " in text
    last = int(text.split("Pagina 1 van ")[1].split()[0])
    assert last >= 2
    assert f"Pagina {last} van {last}" in text


# The fetcher -----------------------------------------------------------------------------------


def test_pdf_fetcher_refuses_anything_but_our_static_files(tmp_path, settings, monkeypatch):
    (tmp_path / "probe.html").write_text(
        '<html><head><link rel="stylesheet" href="file:///etc/passwd"></head><body>'
        "<p>Proefpagina</p>"
        '<img src="http://example.com/x.png" alt="">'
        '<img src="file:///etc/passwd" alt="">'
        '<img src="static/img/logo.svg" alt="">'
        "</body></html>"
    )
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}
    ]
    opened = []

    def no_network(self, request, *args, **kwargs):
        opened.append(request)
        raise AssertionError("the PDF renderer tried to open a URL")

    monkeypatch.setattr(urllib.request.OpenerDirector, "open", no_network)
    outcomes = {}
    original_fetch = StaticOnlyFetcher.fetch

    def recording_fetch(self, url, headers=None):
        try:
            response = original_fetch(self, url, headers)
        except Exception as exc:
            outcomes[url] = type(exc).__name__
            raise
        outcomes[url] = "served"
        return response

    monkeypatch.setattr(StaticOnlyFetcher, "fetch", recording_fetch)

    text = pdf_text(render_pdf("probe.html", {}))

    assert "Proefpagina" in text
    assert "root:" not in text
    assert opened == []
    assert outcomes["http://example.com/x.png"] == "ValueError"
    assert outcomes["file:///etc/passwd"] == "ValueError"
    assert outcomes["https://static.invalid/static/img/logo.svg"] == "served"


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/x.png",
        "file:///etc/passwd",
        "https://static.invalid/other/x.png",
        "https://static.invalid/static/../../../../etc/passwd",
        "https://static.invalid/static/does-not-exist.png",
    ],
)
def test_pdf_fetcher_refuses_urls_outside_static(url):
    with pytest.raises((ValueError, SuspiciousFileOperation)):
        StaticOnlyFetcher().fetch(url)


def test_pdf_fetcher_serves_static_files_with_their_type():
    response = StaticOnlyFetcher().fetch("https://static.invalid/static/css/pdf.css")
    assert response.content_type == "text/css"
    assert b"@page" in response.read()


# Letters waiting to be printed -----------------------------------------------------------------


def _activate_without_email(django_capture_on_commit_callbacks, **kwargs) -> Member:
    member = MemberFactory(email="", status=Member.Status.APPLIED, joined_on=None, **kwargs)
    with django_capture_on_commit_callbacks(execute=True):
        member_change_status(member=member, to_status=Member.Status.ACTIVE)
    return member


def test_letter_is_listed_printed_from_its_stored_text_and_marked_printed(
    coordinator_client, organisation, django_capture_on_commit_callbacks, mailoutbox
):
    household = HouseholdFactory(
        street="Kerkweg", house_number=7, postcode="7311 GH", town="Apeldoorn"
    )
    member = _activate_without_email(
        django_capture_on_commit_callbacks,
        household=household,
        given_name="Truus",
        tussenvoegsel="",
        family_name="Bakker",
    )
    letter = OutboxMessage.objects.get(key=f"members.welcome:{member.pk}")
    assert (letter.channel, letter.status) == (
        OutboxMessage.Channel.LETTER,
        OutboxMessage.Status.PENDING,
    )
    assert mailoutbox == []

    page = coordinator_client.get(reverse("members:letter_list"))
    assert page.status_code == 200
    assert "Truus Bakker" in page.content.decode()
    assert page.context["up_to"] == letter.pk

    # What was queued is what is printed, even after the member's data changed.
    member_update(member=member, person=Person(given_name="Geertruida", family_name="Bakker"))
    household_change_address(
        household=household,
        address=Address(street="Stationsweg", house_number=1, postcode="7311 JK", town="Apeldoorn"),
    )
    response = coordinator_client.get(reverse("members:letter_print"), {"tot": letter.pk})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    text = pdf_text(response.content)
    assert "Truus Bakker" in text
    assert "Kerkweg 7" in text
    assert "7311 GH" in text
    assert "Geertruida" not in text
    assert "Stationsweg" not in text
    assert letter.subject in text
    assert f"Uw lidnummer: {member.number}" in text
    assert "Noem dit nummer als u ons belt of mailt." in text
    assert "Buurtcoöperatie Zuid" in text  # the letterhead

    # A letter queued after the page was shown is neither in that print run nor marked printed.
    later = _activate_without_email(
        django_capture_on_commit_callbacks, given_name="Laat", tussenvoegsel="", family_name="Komer"
    )
    later_letter = OutboxMessage.objects.get(key=f"members.welcome:{later.pk}")
    assert "Laat Komer" not in pdf_text(
        coordinator_client.get(reverse("members:letter_print"), {"tot": letter.pk}).content
    )
    response = coordinator_client.post(reverse("members:letter_list"), {"up_to": letter.pk})
    assert response.status_code == 302

    letter.refresh_from_db()
    later_letter.refresh_from_db()
    assert letter.status == OutboxMessage.Status.PRINTED
    assert letter.sent_at is not None
    assert later_letter.status == OutboxMessage.Status.PENDING

    page = coordinator_client.get(reverse("members:letter_list"))
    assert [item.pk for item in page.context["pending"]] == [later_letter.pk]
    assert [item.pk for item in page.context["printed"]] == [letter.pk]

    # A printed letter can be printed again.
    reprint = coordinator_client.get(reverse("members:letter_print"), {"id": letter.pk})
    assert "Truus Bakker" in pdf_text(reprint.content)


def test_printing_with_no_letters_waiting_says_so(coordinator_client):
    response = coordinator_client.get(reverse("members:letter_print"), follow=True)
    assert response.redirect_chain[-1][0] == reverse("members:letter_list")
    assert "Er zijn geen brieven om af te drukken." in response.content.decode()


def test_bad_mark_printed_request_changes_nothing(
    coordinator_client, django_capture_on_commit_callbacks
):
    member = _activate_without_email(django_capture_on_commit_callbacks)
    response = coordinator_client.post(
        reverse("members:letter_list"), {"up_to": "alles"}, follow=True
    )
    assert response.status_code == 200
    assert (
        OutboxMessage.objects.get(key=f"members.welcome:{member.pk}").status
        == OutboxMessage.Status.PENDING
    )


# Access ----------------------------------------------------------------------------------------


def _document_urls(member: Member) -> list[str]:
    return [
        reverse("members:member_welcome_letter", args=[member.pk]),
        reverse("members:buurt_member_list_pdf", args=[member.household.buurt_id]),
        reverse("members:letter_list"),
        reverse("members:letter_print") + "?tot=999999",
    ]


@pytest.mark.parametrize("name", ["member", "outsider", "volunteer", "buurtassistent", "treasurer"])
def test_documents_are_for_coordinators_only(
    client, name, buurten, django_capture_on_commit_callbacks
):
    member = _activate_without_email(
        django_capture_on_commit_callbacks, household=HouseholdFactory(buurt=buurten[0])
    )
    client.force_login(make_persona(name))

    for url in _document_urls(member):
        assert client.get(url).status_code == 403, url
    assert client.post(reverse("members:letter_list"), {"up_to": 999999}).status_code == 403
    assert (
        OutboxMessage.objects.get(key=f"members.welcome:{member.pk}").status
        == OutboxMessage.Status.PENDING
    )


def test_documents_send_anonymous_visitors_to_login(
    client, buurten, django_capture_on_commit_callbacks
):
    member = _activate_without_email(
        django_capture_on_commit_callbacks, household=HouseholdFactory(buurt=buurten[0])
    )
    for url in _document_urls(member):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("account_login"))


def test_member_cannot_print_their_own_welcome_letter(member_client, member_user):
    own = Member.objects.get(user=member_user)
    assert (
        member_client.get(reverse("members:member_welcome_letter", args=[own.pk])).status_code
        == 403
    )
