"""Where people start: each role on its own work, and the public home page with what membership
costs and the privacy statement."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from coop.accounts.roles import Role
from coop.accounts.services import user_grant_roles
from finance.models import ContributionScheme
from finance.selectors import membership_cost

from .conftest import make_persona
from .factories import ConsentTextFactory

pytestmark = pytest.mark.django_db

FINANCE = reverse("finance:finance_overview")
DASHBOARD = reverse("dashboard:coordinator")
PORTAL = reverse("members:portal")


def person(*roles: str):
    """An account with these roles; "member" gives it a membership of its own."""
    user = make_persona("member" if "member" in roles else "outsider")
    others = [Role(role) for role in roles if role != "member"]
    if others:
        user_grant_roles(user=user, roles=others)
    return user


def nav(html: str) -> str:
    return re.search(r'<nav aria-label="Hoofdmenu".*?</nav>', html, re.S).group(0)


# Each role starts where its work is --------------------------------------------------------------


@pytest.mark.parametrize(
    ("roles", "start"),
    [
        (("treasurer",), FINANCE),
        (("coordinator",), DASHBOARD),
        (("member",), PORTAL),
        # Several roles: the first of treasurer, coordinator, member.
        (("coordinator", "treasurer"), FINANCE),
        (("treasurer", "member"), FINANCE),
        (("coordinator", "member"), DASHBOARD),
        (("member", "coordinator", "treasurer"), FINANCE),
    ],
)
def test_each_role_starts_where_its_work_is(client, roles, start):
    client.force_login(person(*roles))
    response = client.get(reverse("dashboard:home"))
    assert response.status_code == 302 and response["Location"] == start
    assert client.get(start).status_code == 200


@pytest.mark.parametrize(
    ("roles", "others"),
    [
        (("coordinator", "treasurer"), [DASHBOARD, reverse("members:buurt_list")]),
        (("treasurer", "member"), [DASHBOARD, PORTAL, reverse("finance:my_invoices")]),
        (("coordinator", "member"), [PORTAL, reverse("members:member_list")]),
    ],
)
def test_people_with_several_roles_reach_the_rest_through_the_menu(client, roles, others):
    client.force_login(person(*roles))
    landing = client.get(reverse("dashboard:home"), follow=True)
    menu = nav(landing.content.decode())
    for url in others:
        assert f'href="{url}"' in menu, url
        assert client.get(url).status_code == 200, url


def test_logging_in_takes_the_treasurer_to_the_finance_overview(client):
    user = person("treasurer", "coordinator")
    response = client.post(
        reverse("account_login"),
        {"login": user.email, "password": "wachtwoord-123"},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == FINANCE
    assert response.status_code == 200


@pytest.mark.parametrize("persona_name", ["outsider", "volunteer", "buurtassistent", "admin"])
def test_an_account_without_work_here_stays_on_the_home_page(client, persona_name):
    client.force_login(make_persona(persona_name))
    response = client.get(reverse("dashboard:home"))
    assert response.status_code == 200
    assert "U bent ingelogd" in response.content.decode()


# The public home page ----------------------------------------------------------------------------


def scheme(year: int, first="10.00", further="7.50", reduced="5.00") -> ContributionScheme:
    return ContributionScheme.objects.create(
        year=year,
        first_member_amount=Decimal(first),
        further_member_amount=Decimal(further),
        reduced_amount=Decimal(reduced),
    )


def home(client) -> str:
    response = client.get(reverse("dashboard:home"))
    assert response.status_code == 200
    return re.sub(r"\s+", " ", response.content.decode())


def test_the_home_page_says_what_membership_costs(client):
    year = timezone.localdate().year
    scheme(year - 1, first="9.00", further="6.00")
    scheme(year)
    scheme(year + 1, first="12.00")  # set in advance: not yet what people pay
    html = home(client)
    assert "Wat kost het lidmaatschap?" in html
    assert (
        "Het lidmaatschap kost € 10,00 per jaar voor het eerste lid van een huishouden. "
        "Elk volgend lid op hetzelfde adres betaalt € 7,50 per jaar."
    ) in html
    assert "Dan kunt u een lager bedrag vragen: € 5,00 per lid per jaar." in html
    assert f"Dit zijn de bedragen voor {year}." in html
    assert "€ 12,00" not in html and "€ 9,00" not in html


def test_one_amount_for_everyone_and_no_reduced_rate(client):
    scheme(timezone.localdate().year, first="8.00", further="8.00", reduced="8.00")
    html = home(client)
    assert "Het lidmaatschap kost € 8,00 per lid per jaar." in html
    assert "lager bedrag" not in html


def test_without_this_years_scheme_the_last_one_is_shown_with_its_year(client):
    last_year = timezone.localdate().year - 1
    scheme(last_year)
    assert membership_cost(today=timezone.localdate()).year == last_year
    assert f"Dit zijn de bedragen voor {last_year}." in home(client)


def test_without_any_scheme_the_home_page_names_no_amount(client):
    scheme(timezone.localdate().year + 1)
    html = home(client)
    assert "Het lidmaatschap kost een klein bedrag per jaar." in html
    assert "€" not in html


def test_a_free_membership_says_so(client):
    scheme(timezone.localdate().year, first="0.00", further="0.00", reduced="0.00")
    html = home(client)
    assert "Het lidmaatschap is gratis." in html and "lager bedrag" not in html


def test_the_home_page_links_the_privacy_statement(client):
    ConsentTextFactory(key="privacy", version=1, title="Privacyverklaring")
    html = home(client)
    assert f'<a href="{reverse("members:privacy_statement")}">Privacyverklaring</a>' in html


# The privacy statement ---------------------------------------------------------------------------


def test_the_privacy_statement_shows_its_newest_version_to_anyone(client):
    ConsentTextFactory(key="privacy", version=1, text="Oude tekst.")
    ConsentTextFactory(
        key="privacy",
        version=2,
        title="Privacyverklaring Wijkcoop",
        text="Nieuwe tekst.\n\nTweede alinea.",
        published_on=dt.date(2026, 3, 1),
    )
    ConsentTextFactory(key="fotos", version=5, title="Foto's", text="Foto's op de website.")
    response = client.get(reverse("members:privacy_statement"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "<h1>Privacyverklaring Wijkcoop</h1>" in html
    assert "<p>Nieuwe tekst.</p>" in html and "<p>Tweede alinea.</p>" in html
    assert "Versie 2, gepubliceerd op 1 maart 2026." in html
    assert "Oude tekst." not in html and "Foto's op de website." not in html


def test_without_a_privacy_statement_the_page_says_so(client):
    response = client.get(reverse("members:privacy_statement"))
    assert response.status_code == 200
    assert "De privacyverklaring staat hier nog niet." in response.content.decode()
