"""Every URL × every persona, with the answer each must get (byro's office access test).

A new URL fails `test_every_url_is_in_the_table` until it is given its expected answers here.
"""

import datetime as dt

import pytest
from django.urls import URLResolver, get_resolver, reverse

from coop.accounts.access import ACCESS_ATTR
from members.models import MemberImport

from .conftest import PERSONAS, make_persona
from .factories import BuurtFactory, HouseholdFactory, MemberFactory, PostcodeRangeFactory

ANON = "anonymous"
COORD = {"coordinator"}
REGISTER = {"coordinator", "treasurer"}
TREASURER = {"treasurer"}
MEMBER = {"member"}
EVERYONE = set(PERSONAS)

# url name -> (kwargs builder, personas that get 200). Everyone else: anonymous is sent to the
# login page, other accounts get 403.
TABLE = {
    "dashboard:coordinator": (None, REGISTER),
    "dashboard:healthz": (None, EVERYONE),
    "set_language": (None, set()),  # POST only: checked separately
    "members:member_list": (None, REGISTER),
    "members:member_export_csv": (None, REGISTER),
    "members:member_export_xlsx": (None, REGISTER),
    "members:member_create": (None, COORD),
    "members:member_detail": (lambda w: {"pk": w["other"].pk}, REGISTER),
    "members:member_edit": (lambda w: {"pk": w["other"].pk}, COORD),
    "members:member_status": (lambda w: {"pk": w["other"].pk}, COORD),
    "members:member_move": (lambda w: {"pk": w["other"].pk}, COORD),
    "members:household_detail": (lambda w: {"pk": w["other"].household_id}, REGISTER),
    "members:household_edit": (lambda w: {"pk": w["other"].household_id}, COORD),
    "members:buurt_list": (None, COORD),
    "members:buurt_detail": (lambda w: {"pk": w["buurt"].pk}, COORD),
    "members:postcode_range_delete": (lambda w: {"pk": w["buurt"].pk, "range_pk": w["range"].pk}, COORD),
    "members:member_import": (None, COORD),
    "members:member_import_preview": (lambda w: {"token": w["import"].token}, COORD),
    "members:member_welcome_letter": (lambda w: {"pk": w["other"].pk}, COORD),
    "members:buurt_member_list_pdf": (lambda w: {"pk": w["buurt"].pk}, COORD),
    "members:letter_list": (None, COORD),
    "members:letter_print": (None, COORD),
    "members:portal": (None, MEMBER),
    "members:portal_edit": (None, MEMBER),
    "members:portal_address": (None, MEMBER),
    "members:housemate_add": (None, MEMBER),
    "members:housemate_edit": (lambda w: {"pk": w["housemate"].pk}, MEMBER),
    "members:housemate_remove": (lambda w: {"pk": w["housemate"].pk}, MEMBER),
    "members:data_export": (None, MEMBER),
}
# Allowed answers other than 200: printing with no letters waiting goes back to the list.
ALLOWED_STATUS = {"members:letter_print": 302}
# Pages anyone may open, with what each persona gets.
SPECIAL = {
    "dashboard:home": {ANON: 200, "outsider": 200, "volunteer": 200, "buurtassistent": 200, "admin": 200,
                       "member": 302, "coordinator": 302, "treasurer": 302},
}


def project_url_names():
    def walk(patterns, namespace=None):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                if str(pattern.pattern).startswith(("admin/", "accounts/")):
                    continue
                yield from walk(pattern.url_patterns, pattern.namespace or namespace)
            else:
                name = f"{namespace}:{pattern.name}" if namespace else pattern.name
                yield name, pattern.callback

    return list(walk(get_resolver().url_patterns))


def test_every_url_declares_who_may_use_it():
    undeclared = [name for name, view in project_url_names() if not hasattr(view, ACCESS_ATTR)]
    assert undeclared == []


def test_every_url_is_in_the_table():
    missing = [name for name, _ in project_url_names() if name not in TABLE and name not in SPECIAL]
    assert missing == []


@pytest.fixture
def world(db):
    def build(user):
        buurt = BuurtFactory(name="Centrum")
        postcode_range = PostcodeRangeFactory(buurt=buurt, start="7911 AA", end="7911 ZZ")
        other = MemberFactory(household=HouseholdFactory(buurt=buurt))
        own = getattr(user, "member", None) if user is not None else None
        housemate = MemberFactory(household=own.household if own else HouseholdFactory())
        member_import = MemberImport.objects.create(file_name="leden.csv", rows=[], row_count=0)
        return {"buurt": buurt, "range": postcode_range, "other": other, "housemate": housemate,
                "import": member_import, "today": dt.date.today()}

    return build


CASES = [(name, persona) for name in sorted(TABLE) if name != "set_language" for persona in PERSONAS]


@pytest.mark.django_db
@pytest.mark.parametrize(("url_name", "persona_name"), CASES)
def test_access(client, world, url_name, persona_name):
    user = make_persona(persona_name)
    objects = world(user)
    kwargs_builder, allowed = TABLE[url_name]
    url = reverse(url_name, kwargs=kwargs_builder(objects) if kwargs_builder else None)
    if user is not None:
        client.force_login(user)
    response = client.get(url)
    if persona_name in allowed:
        assert response.status_code == ALLOWED_STATUS.get(url_name, 200), f"{persona_name} on {url}"
    elif user is None:
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    else:
        assert response.status_code == 403, f"{persona_name} on {url}"


@pytest.mark.django_db
@pytest.mark.parametrize("persona_name", PERSONAS)
def test_home_for_each_persona(client, persona_name):
    user = make_persona(persona_name)
    if user is not None:
        client.force_login(user)
    assert client.get(reverse("dashboard:home")).status_code == SPECIAL["dashboard:home"][persona_name]


@pytest.mark.django_db
def test_member_cannot_reach_another_household_through_the_portal(client, world):
    user = make_persona("member")
    objects = world(user)
    client.force_login(user)
    for name in ("members:housemate_edit", "members:housemate_remove"):
        assert client.get(reverse(name, kwargs={"pk": objects["other"].pk})).status_code == 404


@pytest.mark.django_db
def test_language_switch_is_public(client):
    response = client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert response.status_code == 302
