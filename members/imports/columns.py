"""The columns a member file may have: Dutch names first, English ones accepted too."""

import csv
import io
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext_lazy

from ..models import Member

Status = Member.Status


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    aliases: tuple[str, ...]
    required: bool
    help: Any


COLUMNS: tuple[Column, ...] = (
    Column(
        "given_name",
        "voornaam",
        ("voornamen", "roepnaam", "first name", "given name"),
        True,
        gettext_lazy("Verplicht."),
    ),
    Column(
        "tussenvoegsel",
        "tussenvoegsel",
        ("tussenvoegsels", "tussenv", "prefix", "infix"),
        False,
        gettext_lazy("Bijvoorbeeld: van der."),
    ),
    Column(
        "family_name",
        "achternaam",
        ("familienaam", "last name", "surname", "family name"),
        True,
        gettext_lazy("Verplicht."),
    ),
    Column(
        "email",
        "e-mail",
        ("e-mailadres", "mail", "email address"),
        False,
        gettext_lazy("Mag leeg blijven. Elk e-mailadres mag maar bij één lid horen."),
    ),
    Column(
        "phone",
        "telefoon",
        ("telefoonnummer", "tel", "telnr", "mobiel", "phone", "telephone"),
        False,
        gettext_lazy("Mag leeg blijven."),
    ),
    Column(
        "date_of_birth",
        "geboortedatum",
        ("geboren", "date of birth", "birth date"),
        False,
        gettext_lazy("Als 31-12-1950 of 1950-12-31. Mag leeg blijven."),
    ),
    Column("street", "straat", ("straatnaam", "street"), True, gettext_lazy("Verplicht.")),
    Column(
        "house_number",
        "huisnummer",
        ("huisnr", "house number"),
        True,
        gettext_lazy("Verplicht. Alleen cijfers; 12a mag ook."),
    ),
    Column(
        "addition",
        "toevoeging",
        ("huisnummertoevoeging", "addition", "house number addition"),
        False,
        gettext_lazy("Bijvoorbeeld: a, 2, bis. Mag leeg blijven."),
    ),
    Column(
        "postcode",
        "postcode",
        ("postal code", "zip code", "zip"),
        True,
        gettext_lazy("Verplicht. Als 1234 AB."),
    ),
    Column("town", "plaats", ("woonplaats", "town", "city"), True, gettext_lazy("Verplicht.")),
    Column(
        "status",
        "status",
        ("lidstatus", "membership status"),
        False,
        gettext_lazy("aangemeld, actief, opgezegd, overleden of geroyeerd. Leeg: actief."),
    ),
    Column(
        "joined_on",
        "lid sinds",
        ("lid vanaf", "startdatum", "member since", "joined on"),
        False,
        gettext_lazy("Datum. Leeg: vandaag."),
    ),
    Column(
        "ended_on",
        "lid tot",
        ("einddatum", "opgezegd per", "member until", "end date"),
        False,
        gettext_lazy("Alleen voor opgezegd, overleden of geroyeerd; dan verplicht."),
    ),
    Column(
        "number",
        "lidnummer",
        ("lidnr", "member number", "membership number"),
        False,
        gettext_lazy("Uw bestaande lidnummers blijven behouden. Leeg: krijgt een nieuw nummer."),
    ),
)
COLUMN_BY_KEY = {c.key: c for c in COLUMNS}
EXAMPLE_COLUMNS = [c for c in COLUMNS if c.key != "ended_on"]

STATUS_WORDS = {
    "aangemeld": Status.APPLIED,
    "applied": Status.APPLIED,
    "actief": Status.ACTIVE,
    "active": Status.ACTIVE,
    "lid": Status.ACTIVE,
    "opgezegd": Status.CANCELLED,
    "cancelled": Status.CANCELLED,
    "canceled": Status.CANCELLED,
    "overleden": Status.DECEASED,
    "deceased": Status.DECEASED,
    "geroyeerd": Status.EXPELLED,
    "expelled": Status.EXPELLED,
}


def header_key(text: Any) -> str:
    """'E-mail ', 'Lid sinds', 'Geboren (dd-mm-jjjj)' -> 'email', 'lidsinds', 'geboren'."""
    text = unicodedata.normalize("NFKC", str(text or "")).lower()
    text = re.sub(r"\(.*?\)", "", text)
    return re.sub(r"[\s\-_.:/*'\"]+", "", text)


HEADER_KEYS: dict[str, str] = {}
for _column in COLUMNS:
    for _name in (_column.header, *_column.aliases):
        HEADER_KEYS[header_key(_name)] = _column.key


def expected_headers() -> str:
    return ", ".join(c.header for c in COLUMNS)


EXAMPLE_ROWS = [
    "Jan;van der;Berg;jan.vanderberg@example.nl;0528 123456;12-03-1948;Dorpsstraat;12;;7913 AB;"
    "Hollandscheveld;actief;01-01-2019;101",
    "Marie;van der;Berg-Jansen;;0528 123456;05-07-1950;Dorpsstraat;12;;7913 AB;Hollandscheveld;"
    "actief;01-01-2019;102",
    "Ahmed;;El Amrani;a.elamrani@example.nl;06 12345678;23-11-1979;Schoolstraat;4;a;7913 CD;"
    "Hollandscheveld;aangemeld;;",
]


def example_csv() -> bytes:
    """The downloadable template: Dutch Excel opens a UTF-8 file with BOM and ';' correctly."""
    rows = [[c.header for c in EXAMPLE_COLUMNS]] + [line.split(";") for line in EXAMPLE_ROWS]
    out = io.StringIO()
    csv.writer(out, delimiter=";", lineterminator="\r\n").writerows(rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")
