"""Accounts: signing up as a member, allauth's pages in our layout, login by code, MFA for staff."""

import re

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import (
    TOTP,
    format_hotp_value,
    generate_totp_secret,
    hotp_value,
    yield_hotp_counters_from_time,
)
from django.core import mail
from django.urls import reverse

from coop.accounts.models import User
from members.models import Consent, Household, Member, SignupApplication, StatusChange
from members.services import signup_application_complete

from .conftest import make_persona
from .factories import ConsentTextFactory, MemberFactory, UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "wachtwoord-123"


@pytest.fixture(autouse=True)
def _no_rate_limits(settings):
    # allauth's limits live in the cache, which outlives a test (one confirmation mail per 3 min).
    settings.ACCOUNT_RATE_LIMITS = False


@pytest.fixture
def consent_texts():
    """An old and a current privacy statement (required) and an optional consent for photos."""
    ConsentTextFactory(key="privacy", version=1, title="Privacyverklaring", text="Oude tekst.")
    privacy = ConsentTextFactory(
        key="privacy", version=2, title="Privacyverklaring", text="Nieuwe tekst, versie 2."
    )
    photos = ConsentTextFactory(
        key="fotos",
        version=1,
        title="Foto's op de website",
        text="Wij plaatsen soms foto's.",
        required=False,
    )
    return privacy, photos


def signup_data(**overrides) -> dict:
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
        "email": "Fatima@Example.org",
        "password1": "Een-lang-wachtwoord-42",
        "password2": "Een-lang-wachtwoord-42",
        "consent_privacy": "on",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def nothing_created():
    return (
        not User.objects.exists() and not Member.objects.exists() and not Household.objects.exists()
    )


def password_login(client, email: str) -> None:
    response = client.post(reverse("account_login"), {"login": email, "password": PASSWORD})
    assert response.status_code == 302, response.content.decode()[:2000]


def reauthenticate(client) -> None:
    """allauth asks for the password again before MFA can be changed."""
    page = client.get(reverse("account_reauthenticate"))
    assert page.status_code == 200
    assert '<label for="id_password">' in page.content.decode()
    response = client.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    assert response.status_code == 302


# Signing up as a member ----------------------------------------------------------------------


def confirm_email(client, message, status: int = 302) -> None:
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+", message.body).group(0)
    path = link.split("://", 1)[1].split("/", 1)[1]
    assert client.post("/" + path).status_code == status


def test_signup_creates_account_household_applied_member_and_consents(client, consent_texts):
    privacy, photos = consent_texts
    response = client.post(reverse("account_signup"), signup_data())

    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    user = User.objects.get()
    assert user.email == "fatima@example.org"
    # Mandatory e-mail confirmation: the address is unverified and a confirmation mail went out.
    address = EmailAddress.objects.get(user=user)
    assert not address.verified
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["fatima@example.org"]
    assert "/accounts/confirm-email/" in mail.outbox[0].body
    # Nobody enters the register before the address is confirmed.
    assert not Member.objects.exists() and not Household.objects.exists()

    confirm_email(client, mail.outbox[0])
    member = Member.objects.select_related("household").get()
    assert member.user == user
    assert member.status == Member.Status.APPLIED
    assert (member.given_name, member.tussenvoegsel, member.family_name) == (
        "Fatima",
        "el",
        "Amrani",
    )
    assert member.email == "fatima@example.org"
    assert str(member.date_of_birth) == "1948-03-02"
    assert member.household.postcode == "7911 AB"
    assert member.household.house_number_full == "12a"
    assert StatusChange.objects.filter(member=member, to_status=Member.Status.APPLIED).count() == 1
    assert User.objects.get().has_role("member")
    # Only the current privacy version was agreed to; the optional photo consent was left unticked.
    consents = list(Consent.objects.filter(member=member))
    assert [(c.consent_text.key, c.consent_text.version) for c in consents] == [("privacy", 2)]
    assert consents[0].consent_text == privacy
    assert not SignupApplication.objects.exists()
    # A second confirmation changes nothing.
    confirm_email(client, mail.outbox[0], status=404)
    signup_application_complete(user=user)
    assert Member.objects.count() == 1


def test_signup_with_optional_consent_records_it(client, consent_texts):
    client.post(reverse("account_signup"), signup_data(consent_fotos="on"))
    confirm_email(client, mail.outbox[0])
    keys = set(Consent.objects.values_list("consent_text__key", "consent_text__version"))
    assert keys == {("privacy", 2), ("fotos", 1)}


def test_signup_confirmation_link_verifies_and_member_can_log_in(client, consent_texts):
    client.post(reverse("account_signup"), signup_data())
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+", mail.outbox[0].body).group(0)
    path = link.split("://", 1)[1].split("/", 1)[1]

    page = client.get("/" + path)
    assert page.status_code == 200
    assert "Bevestig e-mailadres" in page.content.decode()
    client.post("/" + path)
    assert EmailAddress.objects.get(email="fatima@example.org").verified

    response = client.post(
        reverse("account_login"),
        {"login": "fatima@example.org", "password": "Een-lang-wachtwoord-42"},
    )
    assert response.status_code == 302
    assert client.get(reverse("members:portal")).status_code == 200


@pytest.mark.parametrize("postcode", ["12345", "1234 A", "0123 AB", "1234 SS", "abcd ef"])
def test_signup_with_bad_postcode_rerenders_and_creates_nothing(client, consent_texts, postcode):
    response = client.post(reverse("account_signup"), signup_data(postcode=postcode))

    assert response.status_code == 200
    form = response.context["form"]
    assert list(form.errors) == ["postcode"]
    html = response.content.decode()
    assert 'role="alert"' in html
    assert "Vul een postcode in zoals 1234 AB" in html
    assert 'aria-invalid="true"' in html
    # What was typed stays in the form.
    assert 'value="Kerkstraat"' in html
    assert nothing_created()
    assert mail.outbox == []


def test_signup_without_required_consent_rerenders_and_creates_nothing(client, consent_texts):
    response = client.post(reverse("account_signup"), signup_data(consent_privacy=None))

    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["consent_privacy"]
    assert "Zonder dit akkoord kunt u geen lid worden." in response.content.decode()
    assert nothing_created()


def test_signup_missing_address_fields_are_errors(client, consent_texts):
    response = client.post(
        reverse("account_signup"), signup_data(street="", house_number="0", town=None, postcode="")
    )
    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"street", "house_number", "town", "postcode"}
    assert nothing_created()


def test_signup_with_email_of_an_existing_member_answers_the_same_and_links_on_confirmation(
    client, consent_texts
):
    existing = MemberFactory(email="fatima@example.org")
    known = client.post(reverse("account_signup"), signup_data())
    assert known.status_code == 302
    assert known["Location"] == reverse("account_email_verification_sent")
    assert Member.objects.count() == 1
    # Confirming the address proves it is theirs: the account joins the existing member.
    confirm_email(client, mail.outbox[0])
    assert Member.objects.count() == 1
    existing.refresh_from_db()
    assert existing.user == User.objects.get()
    assert existing.user.has_role("member")
    assert not SignupApplication.objects.exists()


def test_signup_page_reads_in_order_and_shows_consent_texts(client, consent_texts):
    response = client.get(reverse("account_signup"))
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count("<h1") == 1
    positions = [
        html.index(f'name="{name}"')
        for name in ("given_name", "street", "postcode", "email", "password1", "consent_privacy")
    ]
    assert positions == sorted(positions)
    assert "Nieuwe tekst, versie 2." in html
    assert "Oude tekst." not in html
    # The required consent is required, the optional one is marked so.
    form = response.context["form"]
    assert form.fields["consent_privacy"].required
    assert not form.fields["consent_fotos"].required
    for name in ("given_name", "postcode", "email", "password1", "consent_privacy"):
        assert f'for="id_{name}"' in html


# allauth's pages in our layout and in Dutch --------------------------------------------------


def test_entrance_pages_render_in_dutch(client):
    pages = {
        "account_login": "Inloggen",
        "account_signup": "Word lid",
        "account_request_login_code": "Inloggen met een code",
        "account_reset_password": "Nieuw wachtwoord",
    }
    for name, heading in pages.items():
        response = client.get(reverse(name))
        assert response.status_code == 200, name
        html = response.content.decode()
        assert heading in html, name
        assert 'lang="nl"' in html
        assert "css/coop.css" in html
        assert html.count("<h1") == 1, name
        assert 'class="button' in html, name


def test_login_page_labels_fields_and_offers_code_login(client):
    html = client.get(reverse("account_login")).content.decode()
    assert '<label for="id_login">' in html
    assert '<label for="id_password">' in html
    assert reverse("account_request_login_code") in html
    assert "button button--secondary" in html


def test_failed_login_shows_an_alert(client):
    UserFactory(email="lid@example.org")
    response = client.post(
        reverse("account_login"), {"login": "lid@example.org", "password": "fout"}
    )
    assert response.status_code == 200
    assert 'role="alert"' in response.content.decode()


def test_password_reset_sends_mail_in_dutch(client):
    UserFactory(email="lid@example.org")
    response = client.post(reverse("account_reset_password"), {"email": "lid@example.org"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    assert "wachtwoord" in mail.outbox[0].body.lower()


def test_confirm_email_page_renders(client):
    user = UserFactory(email="nieuw@example.org")
    address = EmailAddress.objects.get(user=user)
    address.verified = False
    address.save()
    client.post(reverse("account_login"), {"login": "nieuw@example.org", "password": PASSWORD})
    assert len(mail.outbox) == 1
    path = re.search(r"/accounts/confirm-email/\S+", mail.outbox[0].body).group(0)
    response = client.get(path)
    assert response.status_code == 200
    assert "Bevestig e-mailadres" in response.content.decode()


# A real commit: allauth announces the new authenticator after it, inside the request.
@pytest.mark.django_db(transaction=True)
def test_mfa_pages_render_for_a_logged_in_user_and_totp_can_be_activated(client):
    user = UserFactory(email="coordinator@example.org")
    password_login(client, user.email)
    assert client.get(reverse("mfa_activate_totp"))["Location"].startswith(
        reverse("account_reauthenticate")
    )
    reauthenticate(client)

    response = client.get(reverse("mfa_activate_totp"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "App op uw telefoon aanzetten" in html
    assert 'class="qr-code"' in html
    assert '<label for="id_code">' in html

    secret = response.context["form"].secret
    counters = list(yield_hotp_counters_from_time())
    code = format_hotp_value(hotp_value(secret, counters[len(counters) // 2]))
    # Setting the app up counts as using it: the session stays logged in.
    response = client.post(reverse("mfa_activate_totp"), {"code": code})
    assert response.status_code == 302, response.context["form"].errors
    assert response["Location"] == reverse("mfa_view_recovery_codes")
    assert Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()

    response = client.get(reverse("mfa_view_recovery_codes"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Herstelcodes" in html
    assert '<label for="recovery_codes">' in html
    assert client.get(reverse("mfa_index")).status_code == 200


def test_recovery_codes_page_renders_for_user_with_totp(client):
    user = UserFactory(email="penningmeester@example.org")
    password_login(client, user.email)
    reauthenticate(client)
    TOTP.activate(user, generate_totp_secret())
    RecoveryCodes.activate(user)
    # The app was set up outside this session: it has to pass the second factor first.
    response = client.get(reverse("mfa_view_recovery_codes"))
    assert response["Location"].startswith(reverse("account_login"))
    mfa_login(client, user)
    reauthenticate(client)
    response = client.get(reverse("mfa_view_recovery_codes"))
    assert response.status_code == 200
    assert "Herstelcodes" in response.content.decode()


def test_account_email_page_renders_with_account_navigation(member_client):
    response = member_client.get(reverse("account_email"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="subnav"' in html
    assert reverse("members:portal") in html


# Login by code ---------------------------------------------------------------------------------


def test_login_by_code_end_to_end(client, member_user):
    response = client.get(reverse("account_request_login_code"))
    assert response.status_code == 200

    response = client.post(reverse("account_request_login_code"), {"email": member_user.email})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_confirm_login_code"))
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [member_user.email]

    page = client.get(reverse("account_confirm_login_code"))
    assert page.status_code == 200
    assert "Inlogcode invullen" in page.content.decode()

    code = re.search(r"^\s*([A-Z0-9]{4,}(?:-[A-Z0-9]+)*)\s*$", message.body, re.MULTILINE).group(1)
    response = client.post(reverse("account_confirm_login_code"), {"code": code})
    assert response.status_code == 302
    assert int(client.session["_auth_user_id"]) == member_user.pk
    assert client.get(reverse("members:portal")).status_code == 200


def test_login_by_code_with_a_wrong_code_does_not_log_in(client, member_user):
    client.post(reverse("account_request_login_code"), {"email": member_user.email})
    response = client.post(reverse("account_confirm_login_code"), {"code": "XXXXXX"})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    assert 'role="alert"' in response.content.decode()


# MFA required for staff -------------------------------------------------------------------------


def with_totp(user):
    TOTP.activate(user, generate_totp_secret())
    return user


def mfa_login(client, user) -> None:
    """Log in as if through the login page with the second factor (force_login skips it)."""
    from allauth.account.internal.flows.login import (
        _AUTHENTICATION_METHODS_USER_SESSION_KEY,
        AUTHENTICATION_METHODS_SESSION_KEY,
    )

    client.force_login(user)
    session = client.session
    session[AUTHENTICATION_METHODS_SESSION_KEY] = [{"method": "mfa", "at": 0, "type": "totp"}]
    session[_AUTHENTICATION_METHODS_USER_SESSION_KEY] = str(user.pk)
    session.save()


def test_mfa_required_redirects_coordinator_without_totp(client, settings, coordinator):
    settings.COOP_REQUIRE_MFA = True
    client.force_login(coordinator)
    for url in (
        reverse("dashboard:coordinator"),
        reverse("dashboard:home"),
        reverse("members:member_list"),
    ):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"] == reverse("mfa_activate_totp"), url
    # The pages to set it up (and to log out) stay reachable.
    assert client.get(reverse("mfa_index")).status_code == 200


@pytest.mark.parametrize("role", ["treasurer", "admin"])
def test_mfa_required_redirects_treasurer_and_admin_without_totp(client, settings, role):
    settings.COOP_REQUIRE_MFA = True
    client.force_login(make_persona(role))
    response = client.get(reverse("dashboard:home"))
    assert response["Location"] == reverse("mfa_activate_totp")


def test_mfa_required_does_not_redirect_member(client, settings, member_user):
    settings.COOP_REQUIRE_MFA = True
    client.force_login(member_user)
    assert client.get(reverse("members:portal")).status_code == 200
    response = client.get(reverse("dashboard:coordinator"))
    assert response.status_code == 403


def test_mfa_required_lets_coordinator_with_totp_through(client, settings, coordinator):
    settings.COOP_REQUIRE_MFA = True
    mfa_login(client, with_totp(coordinator))
    response = client.get(reverse("dashboard:home"))
    assert response["Location"] == reverse("dashboard:coordinator")
    assert client.get(reverse("dashboard:coordinator")).status_code == 200


def test_mfa_required_lets_admin_with_totp_into_admin(client, settings):
    settings.COOP_REQUIRE_MFA = True
    admin = make_persona("admin")
    client.force_login(admin)
    assert client.get("/admin/")["Location"] == reverse("mfa_activate_totp")
    mfa_login(client, with_totp(admin))
    assert client.get("/admin/").status_code == 200


def test_mfa_not_required_lets_everyone_through(client, settings, coordinator):
    settings.COOP_REQUIRE_MFA = False
    client.force_login(coordinator)
    assert client.get(reverse("dashboard:coordinator")).status_code == 200
    client.force_login(make_persona("admin"))
    assert client.get("/admin/").status_code == 200
