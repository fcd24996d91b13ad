"""Logins an attacker cannot use: the admin's login, the second factor per session, rate limits,
the set-up limit for staff, and sign-up pages that tell nobody who is a member."""

import datetime as dt
import re
import secrets

import pytest
from allauth.mfa.totp.internal.auth import (
    TOTP,
    format_hotp_value,
    generate_totp_secret,
    hotp_value,
    yield_hotp_counters_from_time,
)
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from coop.accounts.models import User
from members.models import Household, Member, SignupApplication
from members.services import signup_applications_purge

from .conftest import make_persona
from .factories import ConsentTextFactory, MemberFactory, UserFactory
from .test_accounts import PASSWORD, confirm_email, mfa_login, signup_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def ip():
    """An address of its own per test, so rate limits in the shared cache never meet."""
    return "10." + ".".join(str(secrets.randbelow(256)) for _ in range(3))


def totp_code(secret: str) -> str:
    counters = list(yield_hotp_counters_from_time())
    return format_hotp_value(hotp_value(secret, counters[len(counters) // 2]))


def admin_with_totp() -> tuple[User, str]:
    admin = make_persona("admin")
    secret = generate_totp_secret()
    TOTP.activate(admin, secret)
    return admin, secret


# The Django admin's login ----------------------------------------------------------------------


def test_admin_login_page_sends_to_the_site_login_keeping_next(client):
    response = client.get("/admin/login/?next=/admin/accounts/user/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=%2Fadmin%2Faccounts%2Fuser%2F"
    # Another host in next is not followed.
    response = client.get("/admin/login/?next=https://evil.example/")
    assert response["Location"] == "/accounts/login/?next=%2Fadmin%2F"
    # The admin's index sends the anonymous there too.
    assert client.get("/admin/", follow=True).redirect_chain[-1][0].startswith("/accounts/login/")


def test_admin_login_post_with_the_right_password_logs_nobody_in(client):
    admin, _secret = admin_with_totp()
    response = client.post("/admin/login/", {"username": admin.email, "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert "_auth_user_id" not in client.session
    assert "/login/" in client.get("/admin/accounts/user/")["Location"]


def test_admin_with_an_authenticator_needs_the_code_before_the_admin_opens(client, ip):
    admin, secret = admin_with_totp()
    response = client.post(
        reverse("account_login"),
        {"login": admin.email, "password": PASSWORD},
        REMOTE_ADDR=ip,
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_authenticate")
    # The password alone opens nothing.
    assert "_auth_user_id" not in client.session
    assert "/login/" in client.get("/admin/accounts/user/")["Location"]

    response = client.post(reverse("mfa_authenticate"), {"code": totp_code(secret)}, REMOTE_ADDR=ip)
    assert response.status_code == 302
    assert client.get("/admin/accounts/user/").status_code == 200


def test_a_session_that_skipped_the_second_factor_is_logged_out(client):
    """An authenticator existing is not enough: this session must have used it."""
    admin, _secret = admin_with_totp()
    client.force_login(admin)
    response = client.get("/admin/accounts/user/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=%2Fadmin%2Faccounts%2Fuser%2F"
    assert "_auth_user_id" not in client.session

    mfa_login(client, admin)
    assert client.get("/admin/accounts/user/").status_code == 200


def test_login_is_rate_limited_the_right_password_after_many_wrong_ones_is_refused(
    client, settings, ip
):
    del settings.ACCOUNT_RATE_LIMITS  # allauth's own limits, as in production
    user = UserFactory(email="doelwit@example.org")
    for _ in range(30):
        client.post(
            reverse("account_login"),
            {"login": user.email, "password": "fout-fout-fout"},
            REMOTE_ADDR=ip,
        )
    response = client.post(
        reverse("account_login"), {"login": user.email, "password": PASSWORD}, REMOTE_ADDR=ip
    )
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    html = response.content.decode()
    assert "U heeft het te vaak achter elkaar geprobeerd" in html
    assert "css/coop.css" in html


# Staff who still have to set up the second factor ----------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "account_email",
        "account_change_password",
        "account_set_password",
        "mfa_generate_recovery_codes",
        "members:portal",
    ],
)
def test_staff_without_an_authenticator_reach_only_the_set_up(client, settings, coordinator, name):
    settings.COOP_REQUIRE_MFA = True
    client.force_login(coordinator)
    url = reverse(name)
    response = client.get(url)
    assert response.status_code == 302, url
    assert response["Location"] == reverse("mfa_activate_totp")


def test_staff_without_an_authenticator_can_set_it_up_and_log_out(client, settings, coordinator):
    settings.COOP_REQUIRE_MFA = True
    client.force_login(coordinator)
    assert client.get(reverse("mfa_index")).status_code == 200
    # allauth asks for the password before the app is set up; that page stays open.
    assert client.get(reverse("mfa_activate_totp"))["Location"].startswith(
        reverse("account_reauthenticate")
    )
    assert client.get(reverse("account_reauthenticate")).status_code == 200
    assert client.get(reverse("account_logout")).status_code == 200


# Sign-up: the same answer for every address ----------------------------------------------------


@pytest.fixture
def privacy(db):
    return ConsentTextFactory(key="privacy", version=1, title="Privacyverklaring", text="Tekst.")


def _signup(client, email: str):
    return client.post(reverse("account_signup"), signup_data(email=email), follow=True)


def test_signup_answers_the_same_for_new_member_and_account_addresses(client, privacy):
    MemberFactory(email="lid-zonder-account@example.org")
    UserFactory(email="heeft-account@example.org")
    pages = {
        email: _signup(client, email)
        for email in (
            "nieuw@example.org",
            "lid-zonder-account@example.org",
            "heeft-account@example.org",
        )
    }
    chains = {tuple(page.redirect_chain) for page in pages.values()}
    assert chains == {((reverse("account_email_verification_sent"), 302),)}
    texts = {
        re.sub(
            r"\s+", " ", re.search(r"<main.*</main>", p.content.decode(), re.S).group(0)
        ).replace(email, "…")
        for email, p in pages.items()
    }
    assert len(texts) == 1
    assert "al bij een lid" not in texts.pop()
    # The real message goes by e-mail, to the address itself.
    by_address = {message.to[0]: message for message in mail.outbox}
    assert set(by_address) == set(pages)
    assert (
        "Er is al een account met dit e-mailadres" in by_address["heeft-account@example.org"].body
    )
    assert "/accounts/confirm-email/" in by_address["lid-zonder-account@example.org"].body


def test_a_self_sign_up_enters_the_register_only_after_the_address_is_confirmed(client, privacy):
    households, members = Household.objects.count(), Member.objects.count()
    _signup(client, "nieuw@example.org")
    assert (Household.objects.count(), Member.objects.count()) == (households, members)
    assert SignupApplication.objects.count() == 1
    # Logging in before confirming does not get in either.
    response = client.post(
        reverse("account_login"),
        {"login": "nieuw@example.org", "password": "Een-lang-wachtwoord-42"},
    )
    assert "_auth_user_id" not in client.session
    assert Member.objects.count() == members

    confirm_email(client, mail.outbox[-1])
    assert Member.objects.filter(email="nieuw@example.org").count() == 1
    assert Household.objects.count() == households + 1
    assert response is not None


def test_twenty_identical_sign_ups_make_one_account_and_one_member(client, privacy):
    for _ in range(20):
        client.post(reverse("account_signup"), signup_data(email="twintig@example.org"))
    assert User.objects.filter(email="twintig@example.org").count() == 1
    assert SignupApplication.objects.count() == 1
    confirm_email(client, mail.outbox[0])
    assert Member.objects.filter(email="twintig@example.org").count() == 1


def test_unconfirmed_sign_ups_are_forgotten_after_thirty_days(client, privacy):
    _signup(client, "vergeten@example.org")
    _signup(client, "recent@example.org")
    SignupApplication.objects.filter(user__email="vergeten@example.org").update(
        created_at=timezone.now() - dt.timedelta(days=31)
    )
    assert signup_applications_purge(older_than_days=30) == 1
    assert not User.objects.filter(email="vergeten@example.org").exists()
    assert User.objects.filter(email="recent@example.org").exists()
    assert SignupApplication.objects.count() == 1
