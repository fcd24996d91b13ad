"""A realistic demo cooperative: Buurtcoöperatie Zuiderpark in the invented town of Veenhoven.

The register is built in bulk, the way the member services would have left it after years of use:
member numbers drawn from the database sequence in order of application, a status history for
every member, consents per text version, a few moves and letters waiting to be printed. The
random choices are seeded, so the same seed gives the same people and addresses.
"""

import datetime as dt
import random
import unicodedata
from collections import Counter
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from coop.accounts.models import User
from coop.accounts.roles import Role
from coop.accounts.services import user_create
from coop.core.models import Organisation, OutboxMessage
from coop.core.services import outbox_mark_printed, sequence_next
from coop.core.tenancy import organisation_scope, scopes_disabled
from coop.lib.phone import phone_digits
from members.models import (
    Buurt,
    Consent,
    ConsentText,
    Household,
    Member,
    PostcodeRange,
    StatusChange,
)
from members.services import (
    MEMBER_NUMBER_SEQUENCE,
    Address,
    _names,
    buurt_create,
    household_change_address,
    member_link_user,
    member_move,
    member_queue_welcome,
    postcode_range_add,
)

from .demo_money import MoneyResult, money_year_build

DEFAULT_SEED = 2025
DEMO_PASSWORD = "zuiderpark-demo"  # noqa: S105 (printed for the demo's own accounts)
ACCOUNT_DOMAIN = "zuiderpark.example"
TOWN = "Veenhoven"
NEIGHBOUR_TOWN = "Lierderholt"

# (email local part, role, what it is for). The member account is linked to a household.
ACCOUNTS = [
    ("coordinator", Role.COORDINATOR, "coördinator: leden, huishoudens, buurten"),
    ("penningmeester", Role.TREASURER, "penningmeester"),
    ("buurtassistent", Role.BUURTASSISTENT, "buurtassistent"),
    ("vrijwilliger", Role.VOLUNTEER, "vrijwilliger"),
    ("lid", Role.MEMBER, "lid, met huisgenoten"),
    ("beheer", Role.ADMIN, "beheerder (Django-beheer)"),
]


@dataclass(frozen=True)
class BuurtPlan:
    name: str
    description: str
    ranges: tuple[tuple[str, str], ...]
    streets: tuple[str, ...]
    share: float


BUURTEN = [
    BuurtPlan(
        "Oude Dorp",
        "Het oude centrum rond de kerk en de Brink.",
        (("7341 AA", "7341 ZZ"),),
        ("Dorpsstraat", "Kerkstraat", "Brink", "Schoolstraat", "Pastoriestraat"),
        0.22,
    ),
    BuurtPlan(
        "Molenwijk",
        "Jaren-zestigwijk bij de korenmolen.",
        (("7342 AA", "7342 ZZ"),),
        ("Molenweg", "Korenstraat", "Bakkerslaan", "Maalderij", "Wiekenhof"),
        0.20,
    ),
    BuurtPlan(
        "Parkzicht",
        "Rond het Zuiderpark, met seniorenflats aan het Lindeplein.",
        (("7343 AA", "7343 ZZ"), ("7344 AA", "7344 KZ")),
        ("Parklaan", "Vijverhof", "Eikenlaan", "Berkenlaan", "Lindeplein", "Beukenhof"),
        0.24,
    ),
    BuurtPlan(
        "De Kamp",
        "Nieuwbouw op de oude es.",
        (("7344 LA", "7344 ZZ"),),
        ("Kampweg", "Heidelaan", "Schaapsdrift", "Esweg"),
        0.14,
    ),
    BuurtPlan(
        "Beekdal",
        "Langs de Veenbeek, tot aan de watermolen.",
        (("7345 AA", "7345 ZZ"),),
        ("Beekweg", "Watermolen", "Oeverlaan", "Wilgenhof", "Rietstraat"),
        0.17,
    ),
]
# Addresses outside every buurt: the coordinator is told these households are outside the area.
OUTSIDE_STREETS = (("Zuiderveenseweg", "7346", TOWN), ("Hoofdstraat", "7351", NEIGHBOUR_TOWN))
OUTSIDE_SHARE = 0.03

FAMILY_NAMES = [
    ("", "Jansen"),
    ("de", "Vries"),
    ("van", "Dijk"),
    ("", "Bakker"),
    ("", "Visser"),
    ("", "Smit"),
    ("", "Meijer"),
    ("de", "Boer"),
    ("", "Mulder"),
    ("de", "Groot"),
    ("", "Bos"),
    ("", "Vos"),
    ("", "Peters"),
    ("", "Hendriks"),
    ("van", "Leeuwen"),
    ("", "Dekker"),
    ("", "Brouwer"),
    ("de", "Wit"),
    ("", "Dijkstra"),
    ("", "Smits"),
    ("de", "Graaf"),
    ("van der", "Meer"),
    ("van der", "Linden"),
    ("", "Kok"),
    ("", "Jacobs"),
    ("de", "Haan"),
    ("", "Vermeulen"),
    ("van den", "Berg"),
    ("van der", "Heijden"),
    ("", "Schouten"),
    ("van", "Beek"),
    ("", "Willems"),
    ("van", "Vliet"),
    ("van de", "Ven"),
    ("", "Hoekstra"),
    ("", "Maas"),
    ("", "Verhoeven"),
    ("", "Koster"),
    ("van", "Dam"),
    ("van der", "Wal"),
    ("", "Prins"),
    ("", "Blom"),
    ("", "Huisman"),
    ("de", "Jong"),
    ("ter", "Horst"),
    ("van 't", "Hof"),
    ("", "Kuipers"),
    ("", "Veenstra"),
    ("", "Postma"),
    ("ten", "Brink"),
    ("", "Wolters"),
    ("", "Nijland"),
    ("", "Lubbers"),
    ("", "Hofman"),
    ("", "Timmerman"),
    ("", "Kamphuis"),
    ("", "Scholten"),
    ("", "Wiegers"),
    ("van", "Essen"),
    ("", "Bosman"),
    ("in 't", "Veld"),
    ("", "Oosterhuis"),
]
# Families from elsewhere, each with first names that go with the family name.
OTHER_FAMILIES = [
    (
        ("", "Yılmaz"),
        ("", "Kaya"),
        ("", "Öztürk"),
        "Ayşe Zeynep Elif Fatma",
        "Ahmet Mehmet Mustafa Emre",
    ),
    (
        ("", "El Amrani"),
        ("", "Bouzid"),
        ("", "Haddou"),
        ("", "Tahiri"),
        "Fatima Naima Khadija Amira",
        "Mohamed Rachid Youssef Hamza",
    ),
    (("", "Pinas"), ("", "Martis"), ("", "Ramdin"), "Shanti Sharon Priya", "Ravi Glenn Rajesh"),
    (("", "Nowak"), ("", "Wiśniewski"), "Anna Agnieszka", "Tomasz Piotr"),
    (("", "Mohamud"), ("", "Warsame"), "Hodan Amina", "Abdi Omar"),
    (("", "Nguyen"), ("", "Tran"), "Mai Linh", "Minh Duc"),
]
FIRST_NAMES = {
    ("old", "f"): "Johanna Maria Grietje Hendrika Wilhelmina Cornelia Truus Aaltje Riek Gerda "
    "Tineke Annie Mien Bep Jannie Dinie Ria Corrie Joke Henny Dina Gerrie",
    ("old", "m"): "Gerrit Hendrik Jan Willem Johannes Cornelis Piet Klaas Harm Albert Kees Henk "
    "Teun Evert Jacob Bert Wim Gijs Dirk Arie Hennie Jo",
    ("mid", "f"): "Monique Marieke Ingrid Sandra Esther Linda Anja Petra Yvonne Saskia Miranda "
    "Wendy Karin Mirjam Nicole Ilse Brenda",
    ("mid", "m"): "Marco Erik Peter Martin Ronald Jeroen Mark Patrick Bas Richard Edwin Arjan "
    "Frank Sander Wouter Rob",
    ("young", "f"): "Sanne Lotte Emma Julia Fleur Anouk Lisa Iris Noor Sara Femke Eva",
    ("young", "m"): "Daan Bram Thijs Lucas Niels Ruben Jesse Tim Sem Joost Luuk Stijn",
}
END_REASONS = [
    "Verhuisd buiten het werkgebied",
    "Verhuisd naar een verpleeghuis",
    "Wil geen lid meer zijn",
    "Geen tijd meer voor de buurt",
    "Verhuisd naar de kinderen",
]
EMAIL_DOMAINS = ["example.org", "example.net", "example.com"]
CONSENT_TEXTS = [
    dict(
        key="privacy",
        version=1,
        title="Privacyverklaring",
        required=True,
        published_on=dt.date(2018, 1, 1),
        text="Wij bewaren uw naam, adres en contactgegevens zolang u lid bent. "
        "Wij geven ze aan niemand buiten de coöperatie.",
    ),
    dict(
        key="privacy",
        version=2,
        title="Privacyverklaring",
        required=True,
        published_on=dt.date(2024, 5, 1),
        text="Wij bewaren uw naam, adres en contactgegevens zolang u lid bent, en daarna nog "
        "zeven jaar wat nodig is voor de boekhouding. Wij geven ze aan niemand buiten de "
        "coöperatie. U mag altijd zien wat wij van u weten.",
    ),
    dict(
        key="fotos",
        version=1,
        title="Foto's in de nieuwsbrief",
        required=False,
        published_on=dt.date(2019, 1, 1),
        text="Wij mogen foto's waar u op staat gebruiken in de nieuwsbrief en op de website.",
    ),
]


@dataclass
class DemoResult:
    buurten: int = 0
    households: int = 0
    members: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    letters: int = 0
    accounts: list[tuple[str, str]] = field(default_factory=list)
    money: MoneyResult | None = None


def database_is_empty() -> bool:
    with scopes_disabled():  # any cooperative's data counts
        return not (
            User.objects.exists()
            or Member.objects.exists()
            or Household.objects.exists()
            or Buurt.objects.exists()
        )


def demo_accounts_exist() -> bool:
    return User.objects.filter(email=f"{ACCOUNTS[0][0]}@{ACCOUNT_DOMAIN}").exists()


def demo_accounts() -> list[tuple[str, str]]:
    return [(f"{local}@{ACCOUNT_DOMAIN}", label) for local, _role, label in ACCOUNTS]


@transaction.atomic
def demo_build(*, seed: int = DEFAULT_SEED, households: int = 500) -> DemoResult:
    """Fill an empty database with the demo cooperative, inside its scope."""
    with organisation_scope(_demo_organisation()):
        return _Builder(seed=seed, household_count=households).build()


def _demo_organisation() -> Organisation:
    """The installation's first cooperative, made into Buurtcoöperatie Zuiderpark."""
    organisation = Organisation.first_or_create()
    for name, value in {
        "name": "Buurtcoöperatie Zuiderpark",
        "street": "Dorpsstraat",
        "house_number": "14",
        "postcode": "7341 AB",
        "town": TOWN,
        "email": f"info@{ACCOUNT_DOMAIN}",
        "phone": "0555-123456",
        "website": f"https://{ACCOUNT_DOMAIN}/",
        "kvk_number": "87654321",
    }.items():
        setattr(organisation, name, value)
    organisation.save()
    return organisation


def _ascii(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if c.isascii() and c.isalnum()).lower()


def _letter_pairs(first_letters: str) -> list[str]:
    usable = "ABCDEGHJKLMNPRSTVWXZ"  # no F, I, O, Q, U, Y in Dutch postcodes
    return [a + b for a in first_letters for b in usable if a + b not in {"SA", "SD", "SS"}]


class _Builder:
    def __init__(self, *, seed: int, household_count: int) -> None:
        self.rng = random.Random(seed)
        self.household_count = household_count
        self.today = timezone.localdate()
        self.emails: set[str] = {"kees.degraaf@example.org"}
        self.result = DemoResult()

    # Pieces ---------------------------------------------------------------------------------

    def _date_between(self, start: dt.date, end: dt.date) -> dt.date:
        if end <= start:
            return start
        return start + dt.timedelta(days=self.rng.randrange((end - start).days + 1))

    def _aware(self, day: dt.date, hour: int = 10) -> dt.datetime:
        return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, self.rng.randrange(60))))

    def _email(self, given: str, tussenvoegsel: str, family: str) -> str:
        rng = self.rng
        family_part = _ascii(tussenvoegsel + family)
        given_part = _ascii(given)
        local = rng.choice(
            [
                f"{given_part}.{family_part}",
                f"{given_part[0]}.{family_part}",
                f"{given_part}{family_part}",
            ]
        )
        domain = rng.choice(EMAIL_DOMAINS)
        candidate, n = f"{local}@{domain}", 1
        while candidate in self.emails:
            n += 1
            candidate = f"{local}{n}@{domain}"
        self.emails.add(candidate)
        return candidate

    def _phone(self) -> str:
        if self.rng.random() < 0.5:
            return f"06-{self.rng.randrange(10_000_000, 99_999_999)}"
        return f"0555-{self.rng.randrange(100_000, 999_999)}"

    def _person(
        self,
        *,
        generation: str,
        sex: str,
        family: tuple[str, str],
        origin: tuple | None,
        taken: set[str],
    ) -> dict:
        rng = self.rng
        names = origin[-2 if sex == "f" else -1] if origin else FIRST_NAMES[(generation, sex)]
        given = rng.choice([name for name in names.split() if name not in taken] or names.split())
        taken.add(given)
        other = origin is not None
        tussenvoegsel, family_name = family
        years = {"old": (1931, 1959), "mid": (1960, 1984), "young": (1985, 2005)}[generation]
        date_of_birth = None
        if rng.random() > 0.08:
            date_of_birth = dt.date(rng.randint(*years), rng.randint(1, 12), rng.randint(1, 28))
        no_email_chance = {"old": 0.26, "mid": 0.06, "young": 0.02}[generation]
        email = (
            "" if rng.random() < no_email_chance else self._email(given, tussenvoegsel, family_name)
        )
        letter = not email or (generation == "old" and rng.random() < 0.08)
        return {
            "given_name": given,
            "tussenvoegsel": tussenvoegsel,
            "family_name": family_name,
            "email": email,
            "phone": self._phone() if rng.random() < 0.85 else "",
            "date_of_birth": date_of_birth,
            "language": Member.Language.EN if other and rng.random() < 0.25 else Member.Language.NL,
            "contact_preference": Member.ContactPreference.LETTER
            if letter
            else Member.ContactPreference.EMAIL,
            "generation": generation,
        }

    def _household_people(self) -> list[dict]:
        rng = self.rng
        origin = rng.choice(OTHER_FAMILIES) if rng.random() < 0.12 else None
        families = list(origin[:-2]) if origin else FAMILY_NAMES
        family = rng.choice(families)
        size = rng.choices([1, 2, 3, 4], weights=[55, 38, 6, 1])[0]
        generation = rng.choices(["old", "mid", "young"], weights=[52, 32, 16])[0]
        first_sex = rng.choice("fm")
        taken: set[str] = set()
        people = [
            self._person(
                generation=generation, sex=first_sex, family=family, origin=origin, taken=taken
            )
        ]
        if size >= 2:
            partner_family = family if rng.random() < 0.6 else rng.choice(families)
            opposite = "m" if first_sex == "f" else "f"
            partner_sex = opposite if rng.random() < 0.92 else first_sex
            people.append(
                self._person(
                    generation=generation,
                    sex=partner_sex,
                    family=partner_family,
                    origin=origin,
                    taken=taken,
                )
            )
        for _ in range(size - 2):
            # A grown-up child at home, or a parent who moved in.
            extra = {"old": "mid", "mid": rng.choice(["young", "old"]), "young": "mid"}[generation]
            people.append(
                self._person(
                    generation=extra,
                    sex=rng.choice("fm"),
                    family=family,
                    origin=origin,
                    taken=taken,
                )
            )
        return people

    # The register ---------------------------------------------------------------------------

    def _buurten(self) -> list[tuple[BuurtPlan, Buurt]]:
        made = []
        for plan in BUURTEN:
            buurt = buurt_create(name=plan.name, description=plan.description)
            for start, end in plan.ranges:
                postcode_range_add(buurt=buurt, start=start, end=end)
            made.append((plan, buurt))
        self.result.buurten = len(made)
        return made

    def _addresses(
        self, buurten: list[tuple[BuurtPlan, Buurt]]
    ) -> list[tuple[Address, Buurt | None]]:
        """Unique addresses; each street has its own postcodes, odd and even sides apart."""
        rng = self.rng
        ranges = list(PostcodeRange.objects.order_by("start"))
        streets: list[tuple[str, list[str], str, float]] = []  # street, postcodes, town, weight
        for plan, _buurt in buurten:
            pairs_by_digits: dict[str, list[str]] = {}
            for start, end in plan.ranges:
                digits = start[:4]
                firsts = "".join(c for c in "ABCDEGHJKLMNPRSTVWXZ" if start[5] <= c <= end[5])
                pairs_by_digits.setdefault(digits, []).extend(_letter_pairs(firsts))
            pool = [
                f"{digits} {pair}" for digits, pairs in pairs_by_digits.items() for pair in pairs
            ]
            step = len(pool) // len(plan.streets)
            for i, street in enumerate(plan.streets):
                streets.append(
                    (street, pool[i * step : i * step + 6], TOWN, plan.share / len(plan.streets))
                )
        for street, digits, town in OUTSIDE_STREETS:
            pool = [f"{digits} {pair}" for pair in _letter_pairs("AB")[:6]]
            streets.append((street, pool, town, OUTSIDE_SHARE / len(OUTSIDE_STREETS)))

        weights = [w for *_rest, w in streets]
        used: set[tuple[str, int, str]] = set()
        addresses: list[tuple[Address, Buurt | None]] = []
        buurt_by_id = {b.pk: b for _plan, b in buurten}
        lindeplein = next(s for s in streets if s[0] == "Lindeplein")
        while len(addresses) < self.household_count:
            street, postcodes, town, _w = rng.choices(streets, weights=weights)[0]
            number = rng.randint(1, 140)
            addition = ""
            if rng.random() < 0.07:
                addition = rng.choice(["A", "B", "C", "1", "2", "3"])
            if not addresses:  # always there, to search for by address: Lindeplein 28
                (street, postcodes, town, _w), number, addition = lindeplein, 28, ""
            if (street, number, addition) in used:
                continue
            used.add((street, number, addition))
            block = (number - 1) // 24
            postcode = postcodes[(2 * block + number % 2) % len(postcodes)]
            buurt_id = next((r.buurt_id for r in ranges if r.start <= postcode <= r.end), None)
            address = Address(
                street=street,
                house_number=number,
                house_number_addition=addition,
                postcode=postcode,
                town=town,
            )
            addresses.append((address, buurt_by_id.get(buurt_id)))
        return addresses

    def _lifecycle(self, person: dict, since: dt.date) -> dict:
        """Status, dates and the history rows (as dicts) that lead to them."""
        rng = self.rng
        today = self.today
        applied_on = since
        roll = rng.random()
        history = [("", Member.Status.APPLIED, applied_on, "")]
        joined_on = ended_on = None
        end_reason = ""
        status = Member.Status.ACTIVE
        recent = applied_on > today - dt.timedelta(days=45)
        if recent and roll < 0.55:
            status = Member.Status.APPLIED
        else:
            joined_on = min(applied_on + dt.timedelta(days=rng.randint(0, 21)), today)
            history.append((Member.Status.APPLIED, Member.Status.ACTIVE, joined_on, ""))
            if roll < 0.07 and joined_on < today - dt.timedelta(days=60):
                status = Member.Status.CANCELLED
                ended_on = self._date_between(joined_on + dt.timedelta(days=30), today)
                end_reason = rng.choice(END_REASONS)
                history.append((Member.Status.ACTIVE, status, ended_on, end_reason))
                if rng.random() < 0.12:
                    # Came back after a while.
                    rejoined = self._date_between(ended_on + dt.timedelta(days=20), today)
                    if rejoined > ended_on:
                        history.append((status, Member.Status.ACTIVE, rejoined, ""))
                        status, joined_on, ended_on, end_reason = (
                            Member.Status.ACTIVE,
                            rejoined,
                            None,
                            "",
                        )
            elif (
                roll < 0.10
                and person["generation"] == "old"
                and joined_on < today - dt.timedelta(days=60)
            ):
                status = Member.Status.DECEASED
                ended_on = self._date_between(joined_on + dt.timedelta(days=30), today)
                end_reason = "Overleden"
                history.append((Member.Status.ACTIVE, status, ended_on, end_reason))
            elif 0.10 <= roll < 0.104 and joined_on < today - dt.timedelta(days=400):
                status = Member.Status.EXPELLED
                ended_on = self._date_between(joined_on + dt.timedelta(days=365), today)
                end_reason = "Contributie twee jaar niet betaald, ook niet na herinneringen"
                history.append((Member.Status.ACTIVE, status, ended_on, end_reason))
        return {
            "status": status,
            "applied_on": applied_on,
            "joined_on": joined_on,
            "ended_on": ended_on,
            "end_reason": end_reason,
            "history": history,
        }

    def _since(self) -> dt.date:
        """When a household applied: spread over the years, with some new this month."""
        rng = self.rng
        roll = rng.random()
        if roll < 0.04:
            return self._date_between(self.today.replace(day=1) - dt.timedelta(days=10), self.today)
        if roll < 0.10:
            return self._date_between(self.today - dt.timedelta(days=120), self.today)
        return self._date_between(dt.date(2018, 3, 1), self.today - dt.timedelta(days=60))

    def _members(self, addresses, coordinator: User) -> list[Member]:
        rng = self.rng
        household_rows = [
            Household(
                street=a.street,
                house_number=a.house_number,
                house_number_addition=a.house_number_addition,
                postcode=a.postcode,
                town=a.town,
                buurt=buurt,
            )
            for a, buurt in addresses
        ]
        households = Household.objects.bulk_create(household_rows, batch_size=500)

        planned = []  # (household, person, lifecycle)
        for household in households:
            since = self._since()
            for index, person in enumerate(self._household_people()):
                start = (
                    since
                    if index == 0 or rng.random() < 0.8
                    else self._date_between(since, self.today)
                )
                planned.append((household, person, self._lifecycle(person, start)))
        planned.sort(key=lambda p: (p[2]["applied_on"], p[0].pk))

        first_number = sequence_next(name=MEMBER_NUMBER_SEQUENCE, count=len(planned))
        members = []
        for offset, (household, person, life) in enumerate(planned):
            sort_name, search_name = _names(
                person["given_name"], person["tussenvoegsel"], person["family_name"]
            )
            members.append(
                Member(
                    number=first_number + offset,
                    household=household,
                    given_name=person["given_name"],
                    tussenvoegsel=person["tussenvoegsel"],
                    family_name=person["family_name"],
                    sort_name=sort_name,
                    search_name=search_name,
                    email=person["email"],
                    phone=person["phone"],
                    phone_digits=phone_digits(person["phone"]),
                    date_of_birth=person["date_of_birth"],
                    language=person["language"],
                    contact_preference=person["contact_preference"],
                    status=life["status"],
                    applied_on=life["applied_on"],
                    joined_on=life["joined_on"],
                    ended_on=life["ended_on"],
                    end_reason=life["end_reason"],
                    created_by=coordinator if life["applied_on"] > dt.date(2022, 1, 1) else None,
                )
            )
        members = Member.objects.bulk_create(members, batch_size=500)

        changes = []
        for member, (_household, _person, life) in zip(members, planned, strict=True):
            for from_status, to_status, effective_on, reason in life["history"]:
                changes.append(
                    StatusChange(
                        member=member,
                        from_status=from_status,
                        to_status=to_status,
                        effective_on=effective_on,
                        reason=reason,
                        changed_by=coordinator if effective_on > dt.date(2022, 1, 1) else None,
                    )
                )
        StatusChange.objects.bulk_create(changes, batch_size=1000)
        self._consents(members, coordinator)
        return members

    def _consents(self, members: list[Member], coordinator: User) -> None:
        rng = self.rng
        texts = {(t["key"], t["version"]): ConsentText.objects.create(**t) for t in CONSENT_TEXTS}
        v1, v2, photos = texts[("privacy", 1)], texts[("privacy", 2)], texts[("fotos", 1)]
        rows = []
        for member in members:
            on_paper = member.contact_preference == Member.ContactPreference.LETTER
            via = Consent.Via.PAPER if on_paper else Consent.Via.ONLINE
            by = coordinator if on_paper else None
            applied = member.applied_on
            if applied < v2.published_on:
                rows.append(
                    Consent(
                        member=member,
                        consent_text=v1,
                        given_at=self._aware(applied),
                        via=via,
                        recorded_by=by,
                    )
                )
                if member.is_current and rng.random() < 0.7:
                    day = self._date_between(
                        v2.published_on, min(v2.published_on + dt.timedelta(days=200), self.today)
                    )
                    rows.append(
                        Consent(
                            member=member,
                            consent_text=v2,
                            given_at=self._aware(day),
                            via=via,
                            recorded_by=by,
                        )
                    )
            else:
                rows.append(
                    Consent(
                        member=member,
                        consent_text=v2,
                        given_at=self._aware(applied),
                        via=via,
                        recorded_by=by,
                    )
                )
            if rng.random() < 0.55:
                withdrawn = None
                if rng.random() < 0.05:
                    withdrawn = self._aware(self._date_between(applied, self.today), hour=15)
                rows.append(
                    Consent(
                        member=member,
                        consent_text=photos,
                        given_at=self._aware(applied, hour=9),
                        via=via,
                        recorded_by=by,
                        withdrawn_at=withdrawn,
                    )
                )
        Consent.objects.bulk_create(rows, batch_size=1000)

    # Accounts and a little history ----------------------------------------------------------

    def _accounts(self) -> dict[str, User]:
        users = {}
        for local, role, _label in ACCOUNTS:
            email = f"{local}@{ACCOUNT_DOMAIN}"
            roles = [] if role in (Role.ADMIN, Role.MEMBER) else [role]
            user = user_create(email=email, password=DEMO_PASSWORD, roles=roles, verified=True)
            if role == Role.ADMIN:
                user.is_staff = user.is_superuser = True
                user.save(update_fields=["is_staff", "is_superuser"])
            users[local] = user
        self.result.accounts = demo_accounts()
        return users

    def _member_account(self, user: User, coordinator: User) -> None:
        """lid@ lives at Molenweg 12 with her husband and her mother, who has no e-mail."""
        buurt = Buurt.objects.get(name="Molenwijk")
        household = Household.objects.create(
            street="Molenweg", house_number=12, postcode="7342 AC", town=TOWN, buurt=buurt
        )
        people = [
            (
                "Ingrid",
                "de",
                "Graaf",
                user.email,
                dt.date(1962, 4, 17),
                Member.ContactPreference.EMAIL,
            ),
            (
                "Kees",
                "de",
                "Graaf",
                "kees.degraaf@example.org",
                dt.date(1959, 11, 3),
                Member.ContactPreference.EMAIL,
            ),
            ("Truus", "", "Bakker", "", dt.date(1938, 2, 9), Member.ContactPreference.LETTER),
        ]
        first = sequence_next(name=MEMBER_NUMBER_SEQUENCE, count=len(people))
        applied, joined = dt.date(2021, 9, 6), dt.date(2021, 9, 20)
        for offset, (given, tv, family, email, born, contact) in enumerate(people):
            sort_name, search_name = _names(given, tv, family)
            phone = "0555-214365" if offset else "06-21436587"
            member = Member.objects.create(
                number=first + offset,
                household=household,
                given_name=given,
                tussenvoegsel=tv,
                family_name=family,
                sort_name=sort_name,
                search_name=search_name,
                email=email,
                phone=phone,
                phone_digits=phone_digits(phone),
                date_of_birth=born,
                contact_preference=contact,
                status=Member.Status.ACTIVE,
                applied_on=applied,
                joined_on=joined,
                created_by=coordinator,
            )
            StatusChange.objects.bulk_create(
                [
                    StatusChange(
                        member=member, to_status=Member.Status.APPLIED, effective_on=applied
                    ),
                    StatusChange(
                        member=member,
                        from_status=Member.Status.APPLIED,
                        to_status=Member.Status.ACTIVE,
                        effective_on=joined,
                        changed_by=coordinator,
                    ),
                ]
            )
            for text in ConsentText.objects.filter(key="privacy"):
                Consent.objects.create(
                    member=member,
                    consent_text=text,
                    given_at=self._aware(max(applied, text.published_on)),
                )
            if offset == 0:
                member_link_user(member=member, user=user)

    def _history(self, members: list[Member], coordinator: User) -> None:
        """A few households moved within the area; a few members moved in with someone."""
        rng = self.rng
        active = [m for m in members if m.status == Member.Status.ACTIVE and m.household.buurt_id]
        for member in rng.sample(active, min(4, len(active))):
            household = member.household
            address = Address(
                street=household.street,
                house_number=household.house_number + 200,
                postcode=household.postcode,
                town=household.town,
            )
            moved = self._date_between(member.joined_on or member.applied_on, self.today)
            household_change_address(
                household=household, address=address, changed_on=moved, by=coordinator
            )
        sizes = Counter(m.household_id for m in members)
        singles = [m for m in active if sizes[m.household_id] == 1]
        for member in rng.sample(singles, min(3, len(singles) // 2)):
            target = rng.choice(
                [m.household for m in active if m.household_id != member.household_id]
            )
            member_move(
                member=member,
                to_household=target,
                moved_on=self.today - dt.timedelta(days=rng.randint(10, 400)),
                by=coordinator,
            )

    def _letters(self, members: list[Member]) -> None:
        """Welcome letters for the newest members without e-mail, the oldest one already printed."""
        recent = sorted(
            (
                m
                for m in members
                if m.status == Member.Status.ACTIVE
                and m.contact_preference == Member.ContactPreference.LETTER
                and m.joined_on
            ),
            key=lambda m: m.joined_on,
        )[-5:]
        for member in recent:
            member_queue_welcome(member=member)
        letters = list(OutboxMessage.objects.order_by("pk").values_list("pk", flat=True))
        if len(letters) > 2:
            outbox_mark_printed(message_ids=letters[:1])
        self.result.letters = len(letters)

    def _finance(self, users: dict[str, User]) -> None:
        """A year of money, made by the finance services on the days it happened (demo_money.py).
        The demo member's invoice stays open, to pay through the demo checkout."""
        self.result.money = money_year_build(
            rng=self.rng,
            today=self.today,
            treasurer=users["penningmeester"],
            own_household_id=users["lid"].member.household_id,
        )

    def build(self) -> DemoResult:
        users = self._accounts()
        coordinator = users["coordinator"]
        buurten = self._buurten()
        addresses = self._addresses(buurten)
        members = self._members(addresses, coordinator)
        self._member_account(users["lid"], coordinator)
        self._history(members, coordinator)
        self._letters(members)
        self._finance(users)
        self.result.households = Household.objects.count()
        self.result.members = Member.objects.count()
        self.result.by_status = {
            Member.Status(s).label: Member.objects.filter(status=s).count()
            for s in Member.Status.values
        }
        return self.result
