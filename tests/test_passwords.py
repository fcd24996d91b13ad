"""Passwords of at least 12 characters (ASVS level 2, V2.1.1), refused in plain Dutch."""

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import translation

from coop.accounts.models import User
from reports.demo import DEMO_PASSWORD

from .conftest import make_persona
from .factories import ConsentTextFactory
from .test_accounts import PASSWORD, signup_data

pytestmark = pytest.mark.django_db

ELEVEN = "Zonnebloem7"  # 11 characters, otherwise a fine password
TWELVE = "Zonnebloem7!"
TOO_SHORT = "Dit wachtwoord is te kort. Gebruik minstens 12 tekens."


def test_eleven_characters_are_refused_twelve_are_enough():
    assert len(ELEVEN) == 11 and len(TWELVE) == 12
    with translation.override("nl"), pytest.raises(ValidationError) as refused:
        validate_password(ELEVEN)
    assert refused.value.messages == [TOO_SHORT]
    validate_password(TWELVE)


def test_the_message_in_english():
    with translation.override("en"), pytest.raises(ValidationError) as refused:
        validate_password(ELEVEN)
    assert "12" in refused.value.messages[0]


def test_the_demo_and_test_passwords_are_long_enough():
    for password in (DEMO_PASSWORD, PASSWORD):
        validate_password(password)


def test_signup_refuses_an_eleven_character_password(client):
    ConsentTextFactory(key="privacy", version=1, title="Privacyverklaring", text="Tekst.")
    data = signup_data(password1=ELEVEN, password2=ELEVEN)
    response = client.post(reverse("account_signup"), data)
    assert response.status_code == 200
    assert TOO_SHORT in response.context["form"].errors["password1"]
    assert TOO_SHORT in response.content.decode()
    assert not User.objects.exists()

    response = client.post(
        reverse("account_signup"), signup_data(password1=TWELVE, password2=TWELVE)
    )
    assert response.status_code == 302
    assert User.objects.filter(email="fatima@example.org").exists()


def test_changing_the_password_refuses_eleven_characters(client):
    user = make_persona("member")
    client.force_login(user)
    url = reverse("account_change_password")
    response = client.post(url, {"oldpassword": PASSWORD, "password1": ELEVEN, "password2": ELEVEN})
    assert response.status_code == 200
    assert TOO_SHORT in response.context["form"].errors["password1"]
    user.refresh_from_db()
    assert user.check_password(PASSWORD)

    response = client.post(url, {"oldpassword": PASSWORD, "password1": TWELVE, "password2": TWELVE})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password(TWELVE)
