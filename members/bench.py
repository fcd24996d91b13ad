"""The member register under load: what `manage.py bench members` seeds and times.

Seeding writes straight to the tables with bulk_create (the services do one member at a time,
with history and e-mails, which is not what is measured here); numbers still come from the
member number sequence, drawn as one block.
"""

import datetime as dt
import random
from collections.abc import Iterator

from django.db import connection, transaction
from django.urls import reverse

from coop.accounts.models import User
from coop.accounts.roles import Role
from coop.accounts.services import user_create
from coop.core.services import sequence_next
from coop.lib.bench import Operation, consume
from coop.lib.phone import phone_digits

from .models import Buurt, Household, Member, PostcodeRange
from .services import MEMBER_NUMBER_SEQUENCE, _names, buurt_create, postcode_range_add

USER_EMAIL = "bench-coordinator@example.org"
TOWN = "Apeldoorn"
CHUNK = 5000  # households per bulk_create round, so memory stays small

# name, postcode area, streets
BUURTEN = [
    ("Centrum", "7311", "Hoofdstraat Marktplein Kapelstraat Nieuwstraat Raadhuisstraat"),
    ("De Parken", "7312", "Regentesselaan Prinsenlaan Sprengenweg Parkweg Zwanenlaan"),
    ("Zevenhuizen", "7325", "Bosweg Eikenlaan Beukenstraat Berkenweg Lindelaan"),
    ("De Maten", "7326", "Mozartlaan Vivaldistraat Bachweg Griegstraat Chopinplein"),
    ("Osseveld", "7327", "Wieselseweg Molenstraat Schapendrift Heideveld Korenbloem"),
]
OUTSIDE_AREA = "7331"  # a few households live just outside every buurt
OUTSIDE_STREETS = "Arnhemseweg Deventerstraat"
LETTERS = "ABCDEGHJKLMNPRTVWXZ"

_GIVEN = (
    "Jan Piet Kees Henk Gerrit Willem Hendrik Johannes Cornelis Klaas Bert Harm Dirk Joost Sander "
    "Mark Daan Sem Lucas Bram Thijs Ruud Fatih Mohamed Youssef Emre Rajesh Ahmet Sven Ties "
    "Maria Anna Johanna Cornelia Elisabeth Grietje Truus Ans Els Ingrid Marieke Sanne Fleur Emma "
    "Julia Sophie Lotte Noor Fatima Yasmina Aylin Priya Dewi Ria Wilma Tineke Annelies Gerda Joke"
)
GIVEN_NAMES = _GIVEN.split()
# "tussenvoegsel|family name"
_FAMILY = (
    "|Jansen, de|Jong, de|Vries, van den|Berg, van der|Berg, van|Dijk, |Bakker, |Janssen, "
    "|Visser, |Smit, |Meijer, de|Boer, |Mulder, de|Groot, |Bos, |Vos, |Peters, |Hendriks, "
    "van|Leeuwen, |Dekker, |Brouwer, de|Wit, |Dijkstra, |Smits, de|Graaf, van der|Meer, "
    "van der|Linden, |Kok, |Jacobs, de|Haan, |Vermeulen, van den|Heuvel, van der|Veen, "
    "van den|Broek, de|Bruijn, |Schouten, van|Beek, |Willems, van|Vliet, |Hoekstra, |Maas, "
    "|Verhoeven, |Koster, van|Dam, van der|Wal, |Prins, |Blom, |Huisman, |Bergsma, "
    "|Rosenberg, |Yilmaz, |Kaya, |El Amrani, |Bouzid, |Sewnath, |Nguyen, |Wijaya, ter|Horst, "
    "|Timmerman, |Kuipers, op den|Kamp, |Postma, van|Os, in 't|Veld"
)
FAMILY_NAMES = [tuple(name.split("|")) for name in _FAMILY.split(", ")]
# status, weight
STATUSES = [
    (Member.Status.ACTIVE, 82),
    (Member.Status.APPLIED, 6),
    (Member.Status.CANCELLED, 8),
    (Member.Status.DECEASED, 3),
    (Member.Status.EXPELLED, 1),
]
END_REASONS = {
    Member.Status.CANCELLED: "Verhuisd naar buiten de wijk",
    Member.Status.DECEASED: "Overleden",
    Member.Status.EXPELLED: "Besluit bestuur",
}


# What `bench` checks the figures against (printed, never asserted).
TARGETS = {
    "members.seed": {"max_ms": 60_000},
    "members.list": {"max_baseline_ratio": 10, "max_queries": 12},
    "members.search": {"max_baseline_ratio": 15, "max_queries": 12},
    "members.search_postcode": {"max_baseline_ratio": 15, "max_queries": 12},
    "members.search_address": {"max_baseline_ratio": 15, "max_queries": 12},
    "members.search_phone": {"max_baseline_ratio": 15, "max_queries": 12},
    "members.export": {"max_ms": 5_000, "max_rss_growth_mb": 25},
}


def _postcodes(rng: random.Random) -> Iterator[tuple[str, str, str | None]]:
    """Endless (postcode, street, buurt name) for new addresses; 3% outside every buurt."""
    while True:
        if rng.random() < 0.03:
            area, streets, name = OUTSIDE_AREA, OUTSIDE_STREETS.split(), None
        else:
            name, area, street_names = rng.choice(BUURTEN)
            streets = street_names.split()
        letters = rng.choice(LETTERS) + rng.choice(LETTERS)
        if letters not in ("SA", "SD", "SS"):
            yield f"{area} {letters}", rng.choice(streets), name


def _household_sizes(rng: random.Random, size: int) -> list[int]:
    """People per household, about 1.5 on average (~0.66 households per member)."""
    sizes, total = [], 0
    while total < size:
        people = min(rng.choices((1, 2, 3), weights=(55, 40, 5))[0], size - total)
        sizes.append(people)
        total += people
    return sizes


def _member(
    rng: random.Random, number: int, household: Household, family: tuple[str, ...]
) -> Member:
    given = rng.choice(GIVEN_NAMES)
    tussenvoegsel, family_name = family if rng.random() < 0.8 else rng.choice(FAMILY_NAMES)
    sort_name, search_name = _names(given, tussenvoegsel, family_name)
    status = rng.choices([s for s, _ in STATUSES], weights=[w for _, w in STATUSES])[0]
    applied_on = dt.date(2012, 1, 1) + dt.timedelta(days=rng.randrange(4700))
    joined_on = None
    if status != Member.Status.APPLIED:
        joined_on = applied_on + dt.timedelta(days=rng.randrange(60))
    ended_on = None
    if status in Member.ENDED:
        ended_on = (joined_on or applied_on) + dt.timedelta(days=rng.randrange(30, 2000))
    born = None
    if rng.random() < 0.9:
        born = dt.date(1930, 1, 1) + dt.timedelta(days=rng.randrange(27000))
    email = ""
    if rng.random() < 0.7:
        local = f"{given}.{tussenvoegsel}{family_name}".lower().replace(" ", "").replace("'", "")
        email = f"{local}.{number}@example.nl"
    phone = ""
    if rng.random() < 0.85:
        prefix, digits = rng.choice((("06", 8), ("06-", 8), ("055-", 7), ("+31 6 ", 8)))
        phone = prefix + "".join(rng.choices("0123456789", k=digits))
    return Member(
        number=number,
        household_id=household.pk,
        given_name=given,
        tussenvoegsel=tussenvoegsel,
        family_name=family_name,
        sort_name=sort_name,
        search_name=search_name,
        email=email,
        phone=phone,
        phone_digits=phone_digits(phone),
        date_of_birth=born,
        language=Member.Language.EN if rng.random() < 0.05 else Member.Language.NL,
        contact_preference=(
            Member.ContactPreference.EMAIL if email else Member.ContactPreference.LETTER
        ),
        status=status,
        applied_on=applied_on,
        joined_on=joined_on,
        ended_on=ended_on,
        end_reason=END_REASONS.get(status, ""),
    )


def seed(*, size: int, random_seed: int = 50) -> None:
    """A cooperative of `size` members in five buurten, and a coordinator to log in with."""
    _seed_rows(size=size, random_seed=random_seed)
    if connection.vendor == "postgresql":
        # What autovacuum does on a live database: planner statistics and the visibility map
        # (so counts can use index-only scans). SQLite is left as the embedded demo runs it.
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE members_household")
            cursor.execute("VACUUM ANALYZE members_member")


@transaction.atomic
def _seed_rows(*, size: int, random_seed: int) -> None:
    rng = random.Random(random_seed)
    user_create(email=USER_EMAIL, roles=[Role.COORDINATOR], verified=True)
    buurten = {}
    for name, area, _streets in BUURTEN:
        buurten[name] = buurt_create(name=name)
        postcode_range_add(buurt=buurten[name], start=area, end=area)
    next_number = sequence_next(name=MEMBER_NUMBER_SEQUENCE, count=size)
    addresses = _postcodes(rng)
    numbers: dict[str, int] = {}
    sizes = _household_sizes(rng, size)
    for start in range(0, len(sizes), CHUNK):
        chunk = sizes[start : start + CHUNK]
        households = []
        for _people in chunk:
            postcode, street, buurt_name = next(addresses)
            numbers[postcode] = numbers.get(postcode, 0) + rng.randint(1, 3)
            households.append(
                Household(
                    street=street,
                    house_number=numbers[postcode],
                    house_number_addition=rng.choice(("", "", "", "", "", "", "A", "B", "-1")),
                    postcode=postcode,
                    town=TOWN,
                    buurt_id=buurten[buurt_name].pk if buurt_name else None,
                )
            )
        Household.objects.bulk_create(households)
        members = []
        for household, people in zip(households, chunk, strict=True):
            family = rng.choice(FAMILY_NAMES)
            for _person in range(people):
                members.append(_member(rng, next_number, household, family))
                next_number += 1
        Member.objects.bulk_create(members)


def check_seeded(size: int) -> None:
    counted = Member.objects.count()
    if counted != size or not PostcodeRange.objects.exists() or not Buurt.objects.exists():
        raise RuntimeError(f"expected {size} members, found {counted}")


def login_user() -> User:
    return User.objects.get(email=USER_EMAIL)


def _phone_as_typed() -> str:
    """A seeded member's landline, typed the international way: '+31 55 …' for '055-…'."""
    phone = (
        Member.objects.filter(phone__startswith="055-")
        .order_by("number")
        .values_list("phone", flat=True)
        .first()
    )
    if phone is None:
        raise RuntimeError("no seeded member has a 055- phone number")
    local = phone_digits(phone)[1:]
    return f"+31 {local[:2]} {local[2:5]} {local[5:]}"


def operations() -> list[Operation]:
    """What a coordinator does most: open the list, search a name, a postcode, an address or a
    phone number, export all."""
    page = reverse("members:member_list")
    export = reverse("members:member_export_csv")
    phone = _phone_as_typed()
    return [
        Operation("members.list", lambda client: consume(client.get(page))),
        Operation("members.search", lambda client: consume(client.get(page, {"q": "berg"}))),
        Operation(
            "members.search_postcode",
            lambda client: consume(client.get(page, {"q": "7325 b"})),
        ),
        Operation(
            "members.search_address",
            lambda client: consume(client.get(page, {"q": "Lindelaan 28"})),
        ),
        Operation("members.search_phone", lambda client: consume(client.get(page, {"q": phone}))),
        Operation("members.export", lambda client: consume(client.get(export, {"status": "alle"}))),
    ]
