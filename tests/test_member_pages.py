"""The coordinator's pages for one member, one household, the buurten, and the dashboards."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from coop.core.models import OutboxMessage
from members.models import AddressChange, Buurt, Consent, Household, Member, Move, PostcodeRange
from members.services import Address, buurt_create, household_create, postcode_range_add

from .conftest import make_persona
from .factories import ConsentTextFactory, HouseholdFactory, MemberFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def buurt():
    buurt = buurt_create(name="Centrum")
    postcode_range_add(buurt=buurt, start="7911", end="")
    return buurt


@pytest.fixture
def member(buurt):
    household = household_create(
        address=Address(
            street="Dorpsstraat", house_number=1, postcode="7911 AB", town="Hollandscheveld"
        )
    )
    assert household.buurt == buurt
    return MemberFactory(
        household=household,
        given_name="Grietje",
        tussenvoegsel="",
        family_name="Hoekstra",
        email="grietje@example.org",
    )


@pytest.fixture
def treasurer_client(client, treasurer):
    client.force_login(treasurer)
    return client


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def person_data(**overrides) -> dict:
    data = {
        "given_name": "Truus",
        "tussenvoegsel": "van",
        "family_name": "Dijk",
        "email": "",
        "phone": "06 12345678",
        "date_of_birth": "1941-03-02",
        "language": "nl",
        "contact_preference": "letter",
    }
    data.update(overrides)
    return data


def address_data(prefix="adres-", **overrides) -> dict:
    data = {
        "street": "Dorpsstraat",
        "house_number": "10",
        "house_number_addition": "",
        "postcode": "7911 cd",
        "town": "Hollandscheveld",
    }
    data.update(overrides)
    return {f"{prefix}{key}": value for key, value in data.items()}


def page_urls(member: Member, buurt: Buurt) -> dict[str, str]:
    postcode_range = buurt.postcode_ranges.get()
    return {
        "member_create": reverse("members:member_create"),
        "member_detail": reverse("members:member_detail", args=[member.pk]),
        "member_edit": reverse("members:member_edit", args=[member.pk]),
        "member_status": reverse("members:member_status", args=[member.pk]),
        "member_move": reverse("members:member_move", args=[member.pk]),
        "household_detail": reverse("members:household_detail", args=[member.household_id]),
        "household_edit": reverse("members:household_edit", args=[member.household_id]),
        "buurt_list": reverse("members:buurt_list"),
        "buurt_detail": reverse("members:buurt_detail", args=[buurt.pk]),
        "postcode_range_delete": reverse(
            "members:postcode_range_delete", args=[buurt.pk, postcode_range.pk]
        ),
    }


READABLE_BY_TREASURER = {"member_detail", "household_detail"}


# Who may open which page --------------------------------------------------------------------


def test_every_page_renders_for_a_coordinator(coordinator_client, member, buurt):
    for name, url in page_urls(member, buurt).items():
        response = coordinator_client.get(url)
        assert response.status_code == 200, name
        assert response.content.count(b"<h1") == 1, name


@pytest.mark.parametrize("persona_name", ["member", "outsider", "volunteer", "buurtassistent"])
def test_other_roles_get_403(client, member, buurt, persona_name):
    client.force_login(make_persona(persona_name))
    for name, url in page_urls(member, buurt).items():
        assert client.get(url).status_code == 403, name
        assert client.post(url, {}).status_code == 403, name


def test_anonymous_is_sent_to_login(client, member, buurt):
    for name, url in page_urls(member, buurt).items():
        response = client.get(url)
        assert response.status_code == 302, name
        assert response["Location"].startswith(reverse("account_login")), name


def test_treasurer_can_read_but_not_edit(treasurer_client, member, buurt):
    for name, url in page_urls(member, buurt).items():
        expected = 200 if name in READABLE_BY_TREASURER else 403
        assert treasurer_client.get(url).status_code == expected, name
    detail = treasurer_client.get(reverse("members:member_detail", args=[member.pk]))
    assert reverse("members:member_edit", args=[member.pk]).encode() not in detail.content
    assert reverse("members:member_status", args=[member.pk]).encode() not in detail.content
    household = treasurer_client.get(
        reverse("members:household_detail", args=[member.household_id])
    )
    assert (
        reverse("members:household_edit", args=[member.household_id]).encode()
        not in household.content
    )


def test_treasurer_cannot_record_a_paper_consent(treasurer_client, member):
    text = ConsentTextFactory()
    response = treasurer_client.post(
        reverse("members:member_detail", args=[member.pk]), {"papier-consent_texts": [text.pk]}
    )
    assert response.status_code == 403
    assert not Consent.objects.exists()


def test_unknown_member_is_404(coordinator_client):
    assert (
        coordinator_client.get(reverse("members:member_detail", args=[999999])).status_code == 404
    )
    assert (
        coordinator_client.get(reverse("members:household_detail", args=[999999])).status_code
        == 404
    )


def test_range_of_another_buurt_is_404(coordinator_client, buurt):
    other = buurt_create(name="Elders")
    postcode_range = buurt.postcode_ranges.get()
    url = reverse("members:postcode_range_delete", args=[other.pk, postcode_range.pk])
    assert coordinator_client.post(url).status_code == 404
    assert PostcodeRange.objects.filter(pk=postcode_range.pk).exists()


# Member detail ------------------------------------------------------------------------------


def test_member_detail_shows_household_buurt_history_and_consents(
    coordinator_client, member, buurt
):
    housemate = MemberFactory(
        household=member.household, given_name="Sjoerd", tussenvoegsel="", family_name="Hoekstra"
    )
    text = ConsentTextFactory(title="Privacyverklaring", version=3)
    Consent.objects.create(member=member, consent_text=text, given_at="2024-01-01T10:00:00+01:00")
    response = coordinator_client.get(reverse("members:member_detail", args=[member.pk]))
    content = response.content.decode()
    assert "Grietje Hoekstra" in content
    assert (
        "Sjoerd Hoekstra" in content
        and reverse("members:member_detail", args=[housemate.pk]) in content
    )
    assert "Centrum" in content
    assert "Privacyverklaring" in content
    assert reverse("members:member_welcome_letter", args=[member.pk]) in content
    assert reverse("members:member_move", args=[member.pk]) in content


def test_member_detail_says_when_the_address_is_outside_the_area(coordinator_client):
    member = MemberFactory(household=HouseholdFactory(postcode="9999 ZZ"))
    response = coordinator_client.get(reverse("members:member_detail", args=[member.pk]))
    assert "buiten het werkgebied" in response.content.decode()


def test_coordinator_records_a_paper_consent(coordinator_client, coordinator, member):
    text = ConsentTextFactory()
    url = reverse("members:member_detail", args=[member.pk])
    response = coordinator_client.post(url, {"papier-consent_texts": [text.pk]})
    assert response.status_code == 302 and response["Location"] == url
    consent = Consent.objects.get(member=member)
    assert (consent.consent_text, consent.via, consent.recorded_by) == (
        text,
        Consent.Via.PAPER,
        coordinator,
    )


def test_paper_consent_without_a_choice_re_renders(coordinator_client, member):
    ConsentTextFactory()
    response = coordinator_client.post(reverse("members:member_detail", args=[member.pk]), {})
    assert response.status_code == 200
    assert "Kies waarvoor de persoon toestemming gaf." in response.content.decode()
    assert not Consent.objects.exists()


# Registering a resident ---------------------------------------------------------------------


def test_register_a_resident_without_email_at_a_new_address(coordinator_client, buurt):
    text = ConsentTextFactory()
    response = coordinator_client.post(
        reverse("members:member_create"),
        {**person_data(), **address_data(), "papier-consent_texts": [text.pk]},
    )
    member = Member.objects.get(family_name="Dijk")
    assert response.status_code == 302
    assert response["Location"] == reverse("members:member_detail", args=[member.pk])
    assert member.email == "" and member.status == Member.Status.APPLIED
    assert member.household.postcode == "7911 CD" and member.household.buurt == buurt
    assert Consent.objects.get(member=member).via == Consent.Via.PAPER
    page = coordinator_client.get(response["Location"])
    assert any("ingeschreven" in m for m in messages_of(page))


def test_register_outside_every_buurt_warns(coordinator_client, buurt):
    response = coordinator_client.post(
        reverse("members:member_create"),
        {**person_data(), **address_data(postcode="9999 AB")},
        follow=True,
    )
    assert response.status_code == 200
    assert any("Dit adres valt buiten het werkgebied" in m for m in messages_of(response))
    assert Member.objects.get(family_name="Dijk").household.buurt is None


def test_register_at_a_known_household(coordinator_client, member):
    search = coordinator_client.get(
        reverse("members:member_create"),
        {"zoek_postcode": "7911ab", "zoek_huisnummer": member.household.house_number},
    )
    assert f"?huishouden={member.household_id}" in search.content.decode()
    picked = coordinator_client.get(
        reverse("members:member_create"), {"huishouden": member.household_id}
    )
    assert member.household.address_line in picked.content.decode()
    response = coordinator_client.post(
        reverse("members:member_create"), {**person_data(), "household": member.household_id}
    )
    assert response.status_code == 302
    assert Member.objects.get(family_name="Dijk").household_id == member.household_id
    assert Household.objects.count() == 1


def test_register_with_a_malformed_postcode_re_renders(coordinator_client):
    response = coordinator_client.post(
        reverse("members:member_create"), {**person_data(), **address_data(postcode="79111 AB")}
    )
    assert response.status_code == 200
    assert "Vul een postcode in zoals 1234 AB" in response.content.decode()
    assert not Member.objects.exists() and not Household.objects.exists()


def test_register_with_a_duplicate_email_re_renders(coordinator_client, member):
    response = coordinator_client.post(
        reverse("members:member_create"),
        {**person_data(email="GRIETJE@example.org", contact_preference="email"), **address_data()},
    )
    assert response.status_code == 200
    assert "Er is al een lid met dit e-mailadres" in response.content.decode()
    assert Member.objects.count() == 1


def test_register_by_email_post_without_email_re_renders(coordinator_client):
    response = coordinator_client.post(
        reverse("members:member_create"),
        {**person_data(contact_preference="email"), **address_data()},
    )
    assert response.status_code == 200
    assert "Post per e-mail kan alleen met een e-mailadres" in response.content.decode()
    assert not Member.objects.exists()


def test_register_with_a_vanished_household_re_renders(coordinator_client):
    response = coordinator_client.post(
        reverse("members:member_create"), {**person_data(), "household": 987654}
    )
    assert response.status_code == 200
    assert "Dit adres bestaat niet meer" in response.content.decode()
    assert not Member.objects.exists()


# Editing, status, moving --------------------------------------------------------------------


def test_edit_member(coordinator_client, member):
    response = coordinator_client.post(
        reverse("members:member_edit", args=[member.pk]),
        person_data(
            given_name="Grietje",
            tussenvoegsel="",
            family_name="de Vries",
            email="g.devries@example.org",
            contact_preference="email",
        ),
    )
    assert response.status_code == 302
    member.refresh_from_db()
    assert (member.family_name, member.email, member.sort_name) == (
        "de Vries",
        "g.devries@example.org",
        "de vries, grietje",
    )


def test_edit_member_with_a_duplicate_email_re_renders(coordinator_client, member):
    MemberFactory(email="bezet@example.org")
    response = coordinator_client.post(
        reverse("members:member_edit", args=[member.pk]),
        person_data(email="Bezet@Example.org", contact_preference="email"),
    )
    assert response.status_code == 200
    assert "Er is al een lid met dit e-mailadres" in response.content.decode()
    member.refresh_from_db()
    assert member.email == "grietje@example.org"


def test_edit_member_keeps_own_email_and_rejects_a_bad_date(coordinator_client, member):
    response = coordinator_client.post(
        reverse("members:member_edit", args=[member.pk]),
        person_data(
            email="grietje@example.org", contact_preference="email", date_of_birth="31-02-1950"
        ),
    )
    assert response.status_code == 200
    assert "Vul een datum in" in response.content.decode()


def test_activation_queues_the_welcome_message(
    coordinator_client, django_capture_on_commit_callbacks
):
    applicant = MemberFactory(
        status=Member.Status.APPLIED, joined_on=None, email="", contact_preference="letter"
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = coordinator_client.post(
            reverse("members:member_status", args=[applicant.pk]),
            {"to_status": "actief", "effective_on": "2025-03-01", "reason": ""},
            follow=True,
        )
    assert response.status_code == 200
    applicant.refresh_from_db()
    assert applicant.status == Member.Status.ACTIVE and applicant.joined_on == dt.date(2025, 3, 1)
    letter = OutboxMessage.objects.get(recipient_ref=f"members.member:{applicant.pk}")
    assert letter.channel == OutboxMessage.Channel.LETTER
    assert any("welkomstbrief" in m for m in messages_of(response))


def test_ending_without_reason_re_renders(coordinator_client, member):
    response = coordinator_client.post(
        reverse("members:member_status", args=[member.pk]),
        {"to_status": "opgezegd", "effective_on": "2025-03-01", "reason": ""},
    )
    assert response.status_code == 200
    assert "Geef een reden" in response.content.decode()
    member.refresh_from_db()
    assert member.status == Member.Status.ACTIVE


def test_forbidden_status_is_not_offered_and_refused(coordinator_client):
    applicant = MemberFactory(status=Member.Status.APPLIED, joined_on=None)
    url = reverse("members:member_status", args=[applicant.pk])
    page = coordinator_client.get(url).content.decode()
    assert 'value="overleden"' not in page and 'value="actief"' in page
    response = coordinator_client.post(
        url, {"to_status": "overleden", "effective_on": "2025-03-01", "reason": "x"}
    )
    assert response.status_code == 200
    assert "Deze status kan niet vanuit de huidige status." in response.content.decode()
    applicant.refresh_from_db()
    assert applicant.status == Member.Status.APPLIED


def test_status_page_of_a_deceased_member_offers_nothing(coordinator_client):
    deceased = MemberFactory(status=Member.Status.DECEASED, ended_on=dt.date(2024, 5, 1))
    response = coordinator_client.get(reverse("members:member_status", args=[deceased.pk]))
    assert response.status_code == 200
    assert "kan niet meer veranderen" in response.content.decode()


def test_move_to_a_known_household(coordinator_client, member):
    target = HouseholdFactory(street="Kerkweg", house_number=3, postcode="7911 XY")
    number = member.number
    response = coordinator_client.post(
        reverse("members:member_move", args=[member.pk]),
        {"household": target.pk, "moved_on": "2025-06-01"},
    )
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.household == target and member.number == number
    assert Move.objects.get(member=member).moved_on == dt.date(2025, 6, 1)


def test_move_to_a_new_address(coordinator_client, member):
    response = coordinator_client.post(
        reverse("members:member_move", args=[member.pk]),
        {
            "household": "",
            "moved_on": "2025-06-01",
            **address_data(street="Veldweg", postcode="9999 ab"),
        },
        follow=True,
    )
    member.refresh_from_db()
    assert member.household.address_line == "Veldweg 10, 9999 AB Hollandscheveld"
    assert any("buiten het werkgebied" in m for m in messages_of(response))


def test_move_with_a_malformed_postcode_re_renders(coordinator_client, member):
    household = member.household
    response = coordinator_client.post(
        reverse("members:member_move", args=[member.pk]),
        {"household": "", "moved_on": "2025-06-01", **address_data(postcode="7911")},
    )
    assert response.status_code == 200
    assert "Vul een postcode in zoals 1234 AB" in response.content.decode()
    member.refresh_from_db()
    assert member.household == household and not Move.objects.exists()


def test_move_to_own_household_shows_the_rule(coordinator_client, member):
    response = coordinator_client.post(
        reverse("members:member_move", args=[member.pk]),
        {"household": member.household_id, "moved_on": "2025-06-01"},
    )
    assert response.status_code == 200
    assert "Dit lid woont al op dit adres." in response.content.decode()


# Households ---------------------------------------------------------------------------------


def test_household_detail_lists_its_members(coordinator_client, member):
    response = coordinator_client.get(
        reverse("members:household_detail", args=[member.household_id])
    )
    assert "Grietje Hoekstra" in response.content.decode()


def test_household_address_change_keeps_history(coordinator_client, coordinator, member):
    household = member.household
    old = household.address_line
    response = coordinator_client.post(
        reverse("members:household_edit", args=[household.pk]),
        {
            **address_data(prefix="", street="Nieuweweg", postcode="7911ef"),
            "changed_on": "2025-07-01",
        },
    )
    assert response.status_code == 302
    change = AddressChange.objects.get(household=household)
    assert (change.old_address, change.changed_on, change.recorded_by) == (
        old,
        dt.date(2025, 7, 1),
        coordinator,
    )
    household.refresh_from_db()
    assert household.postcode == "7911 EF"
    detail = coordinator_client.get(reverse("members:household_detail", args=[household.pk]))
    assert old in detail.content.decode()


def test_household_address_with_a_malformed_postcode_re_renders(coordinator_client, member):
    response = coordinator_client.post(
        reverse("members:household_edit", args=[member.household_id]),
        {**address_data(prefix="", postcode="ABCD 12"), "changed_on": "2025-07-01"},
    )
    assert response.status_code == 200
    assert "Vul een postcode in zoals 1234 AB" in response.content.decode()
    assert not AddressChange.objects.exists()


# Buurten ------------------------------------------------------------------------------------


def test_buurt_list_shows_ranges_counts_and_outside_area(coordinator_client, member, buurt):
    MemberFactory(household=HouseholdFactory(postcode="9999 ZZ"))
    response = coordinator_client.get(reverse("members:buurt_list"))
    content = response.content.decode()
    assert "Centrum" in content and "7911 AA – 7911 ZZ" in content
    centrum = next(b for b in response.context["buurten"] if b.pk == buurt.pk)
    assert (centrum.members_count, centrum.households_count) == (1, 1)
    assert response.context["outside_count"] == 1
    assert "?buurt=buiten" in content


def test_buurt_list_uses_a_constant_number_of_queries(coordinator_client, coordinator):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert coordinator_client.get(reverse("members:buurt_list")).status_code == 200
        return len(captured)

    buurt_create(name="Eerste")
    few = queries()
    for number in range(2, 8):
        more = buurt_create(name=f"Buurt {number}")
        postcode_range_add(buurt=more, start=f"{7000 + number}", end="")
        MemberFactory(household=HouseholdFactory(postcode=f"{7000 + number} AB"))
    assert queries() == few


def test_add_a_buurt(coordinator_client):
    response = coordinator_client.post(
        reverse("members:buurt_list"), {"name": "Oost", "description": ""}
    )
    buurt = Buurt.objects.get(name="Oost")
    assert response["Location"] == reverse("members:buurt_detail", args=[buurt.pk])


def test_add_a_buurt_with_a_taken_name_re_renders(coordinator_client, buurt):
    response = coordinator_client.post(
        reverse("members:buurt_list"), {"name": "Centrum", "description": ""}
    )
    assert response.status_code == 200
    assert "Er is al een buurt met deze naam." in response.content.decode()
    assert Buurt.objects.count() == 1


def test_add_a_range_assigns_households(coordinator_client):
    household = HouseholdFactory(postcode="7920 KL")
    buurt = buurt_create(name="Noord")
    response = coordinator_client.post(
        reverse("members:buurt_detail", args=[buurt.pk]), {"start": "7920", "end": ""}
    )
    assert response.status_code == 302
    household.refresh_from_db()
    assert household.buurt == buurt
    page = coordinator_client.get(reverse("members:buurt_detail", args=[buurt.pk]))
    assert reverse("members:buurt_member_list_pdf", args=[buurt.pk]) in page.content.decode()


def test_overlapping_range_is_shown_on_the_form(coordinator_client, buurt):
    other = buurt_create(name="Noord")
    response = coordinator_client.post(
        reverse("members:buurt_detail", args=[other.pk]), {"start": "7911 KA", "end": "7912 AA"}
    )
    assert response.status_code == 200
    assert "overlappen" in response.content.decode()
    assert not other.postcode_ranges.exists()


@pytest.mark.parametrize(("start", "end"), [("79", ""), ("7911 AB", "7911 A"), ("7915", "7911")])
def test_malformed_range_re_renders(coordinator_client, start, end):
    buurt = buurt_create(name="Noord")
    response = coordinator_client.post(
        reverse("members:buurt_detail", args=[buurt.pk]), {"start": start, "end": end}
    )
    assert response.status_code == 200
    assert b"errorlist" in response.content
    assert not buurt.postcode_ranges.exists()


def test_removing_a_range_recomputes_and_warns(coordinator_client, member, buurt):
    postcode_range = buurt.postcode_ranges.get()
    url = reverse("members:postcode_range_delete", args=[buurt.pk, postcode_range.pk])
    confirm = coordinator_client.get(url)
    assert "buiten het werkgebied" in confirm.content.decode()
    response = coordinator_client.post(url, follow=True)
    assert response.redirect_chain[-1][0] == reverse("members:buurt_detail", args=[buurt.pk])
    assert not PostcodeRange.objects.exists()
    member.household.refresh_from_db()
    assert member.household.buurt is None
    assert any("buiten het werkgebied" in m for m in messages_of(response))


# Dashboards ---------------------------------------------------------------------------------


def test_coordinator_dashboard(coordinator_client, member, buurt):
    applicant = MemberFactory(
        status=Member.Status.APPLIED,
        joined_on=None,
        given_name="Aaltje",
        family_name="Mulder",
        tussenvoegsel="",
    )
    response = coordinator_client.get(reverse("dashboard:coordinator"))
    content = response.content.decode()
    assert response.status_code == 200
    assert "Centrum" in content
    assert reverse("members:member_detail", args=[applicant.pk]) in content
    assert content.count("<h1") == 1


def test_treasurer_dashboard_has_no_register_button(treasurer_client):
    response = treasurer_client.get(reverse("dashboard:coordinator"))
    assert response.status_code == 200
    assert reverse("members:member_create").encode() not in response.content


def test_public_home(client):
    response = client.get(reverse("dashboard:home"))
    content = response.content.decode()
    assert response.status_code == 200
    assert reverse("account_signup") in content and reverse("account_login") in content
    assert "Word lid" in content


def test_home_for_an_account_without_role(client, outsider):
    client.force_login(outsider)
    response = client.get(reverse("dashboard:home"))
    assert response.status_code == 200
    assert "outsider@example.org" in response.content.decode()
