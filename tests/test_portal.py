"""The member's own pages: only their own household, changes through services, nothing deleted."""

import datetime as dt
import json
from decimal import Decimal

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from coop.accounts.roles import Role
from coop.accounts.services import user_grant_roles
from coop.core import personal_data
from coop.core.models import OutboxMessage
from finance.models import CollectionBatch, CollectionItem, Invoice, Mandate, Payment
from finance.services.dues import dues_run_execute, scheme_create
from finance.services.identifiers import iban_masked
from finance.services.invoices import payment_record_manual
from members.models import AddressChange, Consent, Household, Member, StatusChange
from members.services import (
    consent_record,
    member_change_status,
    member_link_user,
    member_move,
)

from .conftest import make_persona
from .factories import (
    BuurtFactory,
    ConsentTextFactory,
    HouseholdFactory,
    MemberFactory,
    PostcodeRangeFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_rate_limits(settings):
    settings.ACCOUNT_RATE_LIMITS = False


@pytest.fixture
def me(member_user):
    return member_user.member


@pytest.fixture
def housemate(me):
    return MemberFactory(
        household=me.household,
        given_name="Kees",
        tussenvoegsel="",
        family_name="Huisgenoot",
        email="",
    )


@pytest.fixture
def neighbour():
    """A member of another household, who must stay invisible."""
    household = HouseholdFactory(street="Verborgenlaan", postcode="9999 ZZ", town="Elders")
    return MemberFactory(
        household=household,
        given_name="Geheim",
        tussenvoegsel="",
        family_name="Buurman",
        email="geheim@example.org",
        phone="0599-999999",
    )


def person_data(**overrides) -> dict:
    data = {
        "given_name": "Piet",
        "tussenvoegsel": "de",
        "family_name": "Vries",
        "email": "",
        "phone": "0528 123456",
        "date_of_birth": "1950-05-17",
        "language": "nl",
        "contact_preference": "",
    }
    data.update(overrides)
    return data


# Access -----------------------------------------------------------------------------------------

PORTAL_URLS = ["portal", "portal_edit", "portal_address", "housemate_add", "data_export"]


@pytest.mark.parametrize("name", PORTAL_URLS)
def test_portal_pages_need_login(client, name):
    response = client.get(reverse(f"members:{name}"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


@pytest.mark.parametrize("name", PORTAL_URLS)
@pytest.mark.parametrize("persona_name", ["outsider", "volunteer", "coordinator"])
def test_portal_pages_are_for_members_only(client, persona_name, name):
    client.force_login(make_persona(persona_name))
    assert client.get(reverse(f"members:{name}")).status_code == 403


@pytest.mark.parametrize("name", PORTAL_URLS)
def test_portal_pages_render_for_member(member_client, name):
    assert member_client.get(reverse(f"members:{name}")).status_code == 200


@pytest.mark.parametrize("name", ["housemate_edit", "housemate_remove"])
def test_other_households_member_is_404(member_client, me, neighbour, name):
    url = reverse(f"members:{name}", args=[neighbour.pk])
    assert member_client.get(url).status_code == 404
    assert member_client.post(url, person_data()).status_code == 404
    neighbour.refresh_from_db()
    assert neighbour.status == Member.Status.ACTIVE
    assert neighbour.given_name == "Geheim"


@pytest.mark.parametrize("name", ["housemate_edit", "housemate_remove"])
def test_own_record_is_not_a_housemate(member_client, me, name):
    assert member_client.get(reverse(f"members:{name}", args=[me.pk])).status_code == 404


def test_coordinator_who_is_also_member_cannot_reach_other_households(client, neighbour):
    user = make_persona("member")
    user_grant_roles(user=user, roles=[Role.COORDINATOR])
    client.force_login(user)
    assert client.get(reverse("members:housemate_edit", args=[neighbour.pk])).status_code == 404
    assert client.post(reverse("members:housemate_remove", args=[neighbour.pk])).status_code == 404
    neighbour.refresh_from_db()
    assert neighbour.status == Member.Status.ACTIVE


def test_member_role_without_member_record_is_404(client):
    user = UserFactory()
    user_grant_roles(user=user, roles=[Role.MEMBER])
    client.force_login(user)
    assert client.get(reverse("members:portal")).status_code == 404


# The overview ----------------------------------------------------------------------------------


def test_portal_shows_own_household_and_nothing_of_others(member_client, me, housemate, neighbour):
    buurt = BuurtFactory(name="Dorpskern")
    PostcodeRangeFactory(buurt=buurt, start="7911 AA", end="7911 ZZ")
    Household.objects.filter(pk=me.household_id).update(buurt=buurt)
    consent_record(member=me, consent_text=ConsentTextFactory(version=3))

    response = member_client.get(reverse("members:portal"))
    html = response.content.decode()
    assert me.full_name in html
    assert str(me.number) in html
    assert "Dorpskern" in html
    assert "Kees Huisgenoot" in html
    assert reverse("members:housemate_edit", args=[housemate.pk]) in html
    assert reverse("members:housemate_remove", args=[housemate.pk]) in html
    assert "Privacyverklaring (versie 3)" in html
    assert reverse("account_email") in html
    assert reverse("members:data_export") in html
    assert "Geheim" not in html
    assert "Verborgenlaan" not in html
    assert html.count("<h1") == 1


# Own data ---------------------------------------------------------------------------------------


def test_member_edits_own_data_but_not_the_email(member_client, me):
    old_email = me.email
    response = member_client.post(
        reverse("members:portal_edit"),
        person_data(given_name="Johanna", email="anders@example.org", contact_preference="letter"),
    )
    assert response.status_code == 302
    me.refresh_from_db()
    assert me.full_name == "Johanna de Vries"
    assert me.sort_name.startswith("vries")
    assert me.contact_preference == Member.ContactPreference.LETTER
    assert str(me.date_of_birth) == "1950-05-17"
    assert me.email == old_email


def test_own_data_errors_rerender(member_client, me):
    response = member_client.post(
        reverse("members:portal_edit"),
        person_data(
            family_name="", phone="bel mij", date_of_birth="2999-01-01", contact_preference="email"
        ),
    )
    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"family_name", "phone", "date_of_birth"}
    assert 'role="alert"' in response.content.decode()
    me.refresh_from_db()
    assert me.family_name != ""


def test_member_email_follows_the_accounts_new_primary_address(member_client, member_user, me):
    response = member_client.post(
        reverse("account_email"), {"action_add": "", "email": "nieuw@example.org"}
    )
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    me.refresh_from_db()
    assert me.email == "member@example.org"  # not before it is confirmed and made primary

    address = EmailAddress.objects.get(email="nieuw@example.org")
    address.verified = True
    address.save()
    response = member_client.post(
        reverse("account_email"), {"action_primary": "", "email": "nieuw@example.org"}
    )
    assert response.status_code == 302
    me.refresh_from_db()
    assert me.email == "nieuw@example.org"


# Moving house -----------------------------------------------------------------------------------


def address_data(**overrides) -> dict:
    data = {
        "street": "Nieuwe Weg",
        "house_number": "7",
        "house_number_addition": "",
        "postcode": "7912 cd",
        "town": "Hollandscheveld",
        "changed_on": "2025-03-01",
    }
    data.update(overrides)
    return data


def test_household_moves_and_history_is_kept(member_client, me, housemate):
    old_address = me.household.address_line
    response = member_client.post(reverse("members:portal_address"), address_data())
    assert response.status_code == 302
    household = Household.objects.get(pk=me.household_id)
    assert household.address_line == "Nieuwe Weg 7, 7912 CD Hollandscheveld"
    change = AddressChange.objects.get(household=household)
    assert change.old_address == old_address
    assert str(change.changed_on) == "2025-03-01"
    housemate.refresh_from_db()
    assert housemate.household_id == household.pk


def test_move_with_bad_postcode_changes_nothing(member_client, me):
    before = me.household.address_line
    response = member_client.post(reverse("members:portal_address"), address_data(postcode="79125"))
    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["postcode"]
    assert Household.objects.get(pk=me.household_id).address_line == before
    assert not AddressChange.objects.exists()


def test_move_outside_every_buurt_warns(member_client, me):
    response = member_client.post(reverse("members:portal_address"), address_data(), follow=True)
    assert "buiten de buurten" in response.content.decode()


# Housemates --------------------------------------------------------------------------------------


def test_add_housemate_registers_an_applied_member_in_own_household(member_client, me, member_user):
    count = Member.objects.count()
    response = member_client.post(reverse("members:housemate_add"), person_data())
    assert response.status_code == 302
    assert Member.objects.count() == count + 1
    added = Member.objects.get(family_name="Vries")
    assert added.household_id == me.household_id
    assert added.status == Member.Status.APPLIED
    assert added.user is None
    assert added.created_by == member_user
    assert added.contact_preference == Member.ContactPreference.LETTER
    change = StatusChange.objects.get(member=added)
    assert (change.from_status, change.to_status, change.changed_by) == (
        "",
        Member.Status.APPLIED,
        member_user,
    )


def test_add_housemate_with_email_of_another_member_answers_as_for_any_address(
    member_client, neighbour
):
    """Nothing on the page tells that the address is a member's; its owner gets a note."""
    count = Member.objects.count()
    taken = member_client.post(
        reverse("members:housemate_add"), person_data(email="GEHEIM@example.org"), follow=True
    )
    fresh = member_client.post(
        reverse("members:housemate_add"),
        person_data(given_name="Bram", email="nieuw-adres@example.org"),
        follow=True,
    )
    assert taken.redirect_chain == fresh.redirect_chain == [(reverse("members:portal"), 302)]
    for response in (taken, fresh):
        assert "is aangemeld als lid" in response.content.decode()
        assert "al een lid" not in response.content.decode()
    assert Member.objects.count() == count + 2
    added = Member.objects.get(family_name="Vries", given_name="Piet")
    assert added.email == ""
    assert added.contact_preference == Member.ContactPreference.LETTER
    note = OutboxMessage.objects.get(template="members/email/housemate_email_taken")
    assert note.to_email == "geheim@example.org"
    assert "al bij een lid" in note.body_text


def test_add_housemate_post_by_email_needs_an_address(member_client):
    response = member_client.post(
        reverse("members:housemate_add"), person_data(contact_preference="email")
    )
    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["contact_preference"]


def test_edit_housemate(member_client, housemate):
    url = reverse("members:housemate_edit", args=[housemate.pk])
    page = member_client.get(url)
    assert page.status_code == 200
    assert 'value="Kees"' in page.content.decode()
    response = member_client.post(url, person_data(given_name="Cornelis", email="kees@example.org"))
    assert response.status_code == 302
    housemate.refresh_from_db()
    assert housemate.full_name == "Cornelis de Vries"
    assert housemate.email == "kees@example.org"


def test_edit_housemate_to_a_members_email_saves_the_rest_and_says_nothing(
    member_client, housemate, neighbour
):
    url = reverse("members:housemate_edit", args=[housemate.pk])
    before = housemate.email
    response = member_client.post(
        url, person_data(given_name="Cornelis", email=neighbour.email.upper()), follow=True
    )
    assert response.redirect_chain == [(reverse("members:portal"), 302)]
    assert "zijn opgeslagen" in response.content.decode()
    housemate.refresh_from_db()
    assert (housemate.given_name, housemate.email) == ("Cornelis", before)
    note = OutboxMessage.objects.get(template="members/email/housemate_email_taken")
    assert note.to_email == neighbour.email


def test_housemate_with_own_account_keeps_their_email(member_client, housemate):
    member_link_user(member=housemate, user=UserFactory(email="kees@example.org"))
    Member.objects.filter(pk=housemate.pk).update(email="kees@example.org")
    url = reverse("members:housemate_edit", args=[housemate.pk])
    member_client.post(url, person_data(email="gekaapt@example.org"))
    housemate.refresh_from_db()
    assert housemate.email == "kees@example.org"
    assert housemate.given_name == "Piet"


def test_remove_housemate_confirms_then_ends_membership_without_deleting(
    member_client, member_user, housemate
):
    url = reverse("members:housemate_remove", args=[housemate.pk])
    page = member_client.get(url)
    assert page.status_code == 200
    assert "Kees Huisgenoot" in page.content.decode()
    housemate.refresh_from_db()
    assert housemate.status == Member.Status.ACTIVE  # a GET changes nothing

    count = Member.objects.count()
    response = member_client.post(url)
    assert response.status_code == 302
    assert Member.objects.count() == count
    housemate.refresh_from_db()
    assert housemate.status == Member.Status.CANCELLED
    assert housemate.ended_on is not None
    change = StatusChange.objects.filter(member=housemate).latest("recorded_at")
    assert (change.from_status, change.to_status, change.changed_by) == (
        Member.Status.ACTIVE,
        Member.Status.CANCELLED,
        member_user,
    )
    # An ended housemate stays listed, without actions.
    html = member_client.get(reverse("members:portal")).content.decode()
    assert "Kees Huisgenoot" in html
    assert url not in html
    # Removing again changes nothing.
    member_client.post(url)
    assert (
        StatusChange.objects.filter(member=housemate, to_status=Member.Status.CANCELLED).count()
        == 1
    )


# Data export (AVG inzage) -------------------------------------------------------------------------


def test_data_export_is_a_json_download_with_everything_about_the_member(
    member_client, me, housemate, neighbour, django_capture_on_commit_callbacks
):
    text = ConsentTextFactory(version=4, text="Tekst versie 4.")
    consent_record(member=me, consent_text=text)
    consent_record(member=neighbour, consent_text=text)
    member_client.post(reverse("members:portal_address"), address_data())
    with django_capture_on_commit_callbacks(execute=True):
        member_change_status(member=me, to_status=Member.Status.CANCELLED, reason="Test")
        member_change_status(member=me, to_status=Member.Status.ACTIVE)
    # The neighbour's own messages must not appear.
    with django_capture_on_commit_callbacks(execute=True):
        member_change_status(
            member=neighbour, to_status=Member.Status.CANCELLED, reason="Naar Spanje"
        )
        member_change_status(member=neighbour, to_status=Member.Status.ACTIVE)

    response = member_client.get(reverse("members:data_export"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response["Content-Disposition"].startswith("attachment;")
    assert f"lid-{me.number}" in response["Content-Disposition"]
    data = json.loads(response.content)

    assert set(data) == {
        "exported_at",
        "member",
        "account",
        "household",
        "address_history",
        "status_history",
        "moves",
        "consents",
        "membership_notices",
        "messages",
        # finance's sections (tested below)
        "invoices",
        "payments",
        "online_payments",
        "mandates",
        "direct_debits",
        "refunds",
    }
    assert data["member"]["number"] == me.number
    assert data["member"]["email"] == me.email
    assert data["account"]["email"] == "member@example.org"
    assert data["household"]["postcode"] == "7912 CD"
    assert [h["name"] for h in data["household"]["housemates"]] == ["Kees Huisgenoot"]
    assert len(data["address_history"]) == 1
    assert [s["to_status"] for s in data["status_history"]] == ["opgezegd", "actief"]
    assert data["consents"] == [
        {
            "key": "privacy",
            "version": 4,
            "title": "Privacyverklaring",
            "text": "Tekst versie 4.",
            "published_on": "2024-01-01",
            "given_at": data["consents"][0]["given_at"],
            "via": Consent.Via.ONLINE,
            "withdrawn_at": None,
        }
    ]
    welcome = OutboxMessage.objects.get(recipient_ref=f"members.member:{me.pk}")
    assert data["messages"] == [
        {
            "key": welcome.key,
            "subject": welcome.subject,
            "channel": "email",
            "status": welcome.status,
            "created_at": welcome.created_at.isoformat(),
            "sent_at": welcome.sent_at.isoformat() if welcome.sent_at else None,
        }
    ]
    body = response.content.decode()
    for secret in (
        "Geheim",
        "Buurman",
        "geheim@example.org",
        "0599-999999",
        "Verborgenlaan",
        "9999 ZZ",
        "Elders",
        "Naar Spanje",
    ):
        assert secret not in body
    assert f"members.welcome:{neighbour.pk}" not in body


def _no_floats(text: str):
    raise AssertionError(f"a float in the export: {text}")


@pytest.fixture
def money_of_two_households(me, housemate, neighbour):
    """Invoices, a payment, an iDEAL attempt, a mandate and debits for my household and the
    neighbour's; returns (my invoice, the neighbour's invoice)."""
    scheme_create(
        year=2025,
        first_member_amount=Decimal("10.00"),
        further_member_amount=Decimal("7.50"),
        reduced_amount=Decimal("5.00"),
    )
    dues_run_execute(year=2025)
    own = Invoice.objects.get(household=me.household, dues_year=2025)
    theirs = Invoice.objects.get(household=neighbour.household, dues_year=2025)
    today = timezone.localdate()
    payment_record_manual(invoice=own, amount=Decimal("12.34"), booked_on=today)
    payment_record_manual(invoice=theirs, amount=Decimal("9.87"), booked_on=today)
    Payment.objects.create(
        invoice=own, provider="demo", provider_id="tr_own", amount=Decimal("5.16")
    )
    mandates = {}
    for member, reference, iban in (
        (me, "WKC-EIGEN-1", "NL91ABNA0417164300"),
        (neighbour, "WKC-BUREN-1", "NL20INGB0001234567"),
    ):
        mandates[member.pk] = Mandate.objects.create(
            household=member.household,
            signed_by=member,
            reference=reference,
            iban=iban,
            account_holder=member.full_name,
            signed_on=dt.date(2025, 1, 10),
        )
    for status, message_id, item_status in (
        (CollectionBatch.Status.COLLECTED, "WKC-20250301-1", CollectionItem.Status.COLLECTED),
        (CollectionBatch.Status.DRAFT, "WKC-20250401-2", CollectionItem.Status.PENDING),
    ):
        batch = CollectionBatch.objects.create(
            collection_date=dt.date(2025, int(message_id[8:10]), 1),
            status=status,
            message_id=message_id,
            schema_version="pain.008.001.08",
        )
        CollectionItem.objects.create(
            batch=batch,
            invoice=own,
            mandate=mandates[me.pk],
            amount=Decimal("5.16"),
            end_to_end_id=f"{own.number}-{message_id}",
            status=item_status,
        )
    return own, theirs


def test_data_export_holds_the_households_invoices_payments_and_mandate(
    member_client, me, money_of_two_households
):
    own, theirs = money_of_two_households
    response = member_client.get(reverse("members:data_export"))
    body = response.content.decode()
    data = json.loads(body, parse_float=_no_floats)

    assert data["invoices"] == [
        {
            "number": own.number,
            "kind": "invoice",
            "issued_on": own.issued_on.isoformat(),
            "due_on": own.due_on.isoformat(),
            "dues_year": 2025,
            "credits_invoice": None,
            "sent_to": {
                "name": own.recipient_name,
                "email": own.recipient_email,
                "address": own.address_lines,
            },
            "lines": [
                {"description": line.description, "amount": str(line.amount)}
                for line in own.lines.all()
            ],
            "amount": "17.50",
            "status": "partly_paid",
            "balance": "5.16",
        }
    ]
    assert data["payments"] == [
        {
            "invoice": own.number,
            "booked_on": timezone.localdate().isoformat(),
            "amount": "12.34",
            "kind": "payment",
            "method": "manual",
            "description": "",
        }
    ]
    assert [(p["invoice"], p["amount"], p["status"]) for p in data["online_payments"]] == [
        (own.number, "5.16", "open")
    ]
    (mandate,) = data["mandates"]
    assert mandate["reference"] == "WKC-EIGEN-1"
    assert mandate["iban"] == "NL91ABNA0417164300"  # signed by this member: their own account
    assert mandate["signed_by"] == me.full_name and mandate["status"] == "active"
    # The draft batch may still change; only the collected debit is shown.
    assert data["direct_debits"] == [
        {
            "invoice": own.number,
            "mandate": "WKC-EIGEN-1",
            "collection_date": "2025-03-01",
            "amount": "5.16",
            "status": "collected",
            "return_reason": "",
        }
    ]
    for secret in (theirs.number, "9.87", "WKC-BUREN-1", "NL20INGB0001234567", "INGB"):
        assert secret not in body


def test_housemate_sees_the_households_mandate_with_the_account_masked(
    me, housemate, money_of_two_households
):
    own, _theirs = money_of_two_households
    data = personal_data.collect(housemate)
    assert [i["number"] for i in data["invoices"]] == [own.number]
    assert [m["iban"] for m in data["mandates"]] == [iban_masked("NL91ABNA0417164300")]
    assert "NL91ABNA0417164300" not in json.dumps(data)


def test_a_member_who_moved_keeps_the_invoices_that_named_them(
    me, housemate, money_of_two_households
):
    own, _theirs = money_of_two_households
    member_move(member=housemate, to_household=HouseholdFactory())
    housemate.refresh_from_db()
    data = personal_data.collect(housemate)
    assert [i["number"] for i in data["invoices"]] == [own.number]
    assert [p["amount"] for p in data["payments"]] == ["12.34"]
    assert data["mandates"] == []  # the old household's mandate was signed by someone else


def test_every_registered_section_is_in_the_file_and_listed_on_the_portal(member_client):
    keys = [section.key for section in personal_data.sections()]
    assert keys[:2] == ["member", "account"]  # the member's own data first, then the layers up
    assert {"invoices", "mandates"} <= set(keys)
    data = json.loads(member_client.get(reverse("members:data_export")).content)
    assert list(data) == ["exported_at", *keys]
    html = member_client.get(reverse("members:portal")).content.decode()
    for section in personal_data.sections():
        assert escape(str(section.title)) in html


def test_a_section_key_is_claimed_once():
    with pytest.raises(ImproperlyConfigured, match="invoices"):
        personal_data.register("invoices", "Facturen")(lambda member: [])
    with pytest.raises(ImproperlyConfigured):
        personal_data.register("exported_at", "Datum")(lambda member: None)


def test_the_export_holds_a_refund_of_the_household_with_the_iban_masked(
    me, money_of_two_households
):
    from finance.models import Refund

    own, theirs = money_of_two_households
    Refund.objects.create(
        invoice=own, amount=Decimal("2.50"), iban="NL91ABNA0417164300", account_holder="Ik"
    )
    Refund.objects.create(
        invoice=theirs, amount=Decimal("4.00"), iban="NL20INGB0001234567", account_holder="Buur"
    )
    data = personal_data.collect(me)
    assert [(r["invoice"], r["amount"], r["status"]) for r in data["refunds"]] == [
        (own.number, "2.50", "to_pay")
    ]
    assert "0417164300" not in json.dumps(data["refunds"])
