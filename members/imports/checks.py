"""Each row checked on its own, against the other rows in the file, and against the register.

A person's phone number and date of birth go through the validators the forms use
(members/validators.py), and a date written as text must be in a format the forms accept: what a
coordinator could not type into the member form does not come in through a file either. What is
the file's own business stays here: Excel's date serials and lost leading zeros, and the midnight
a spreadsheet appends to a date saved as CSV.
"""

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _

from coop.lib.numbers import INTEGER_MAX, parse_int
from coop.lib.postcode import InvalidPostcode, normalise_postcode

from ..models import Member
from ..validators import DATE_FORMATS, EARLIEST_DATE, validate_date_of_birth, validate_phone
from .columns import COLUMN_BY_KEY, STATUS_WORDS
from .errors import RowError
from .reading import ParsedFile, SheetColumn, blank

Status = Member.Status
ENDED = {str(s) for s in Member.ENDED}
# Chunks for `__in` lookups: well below SQLite's and PostgreSQL's parameter limits.
LOOKUP_CHUNK = 5000

# The shapes of DATE_FORMATS, to tell "31-02-1950" (no such day) from a date in another format.
_DATE_SHAPE = re.compile(r"^(?:\d{1,2}([-/])\d{1,2}\1\d{4}|\d{4}-\d{1,2}-\d{1,2})$")
_ISO_MIDNIGHT = re.compile(r"^(\d{4}-\d{1,2}-\d{1,2})[ T]00:00(?::00(?:\.0+)?)?$")
_HOUSE_NUMBER = re.compile(r"^(\d{1,6})(?:\s*[-/]?\s*([A-Za-z0-9][A-Za-z0-9 ]*))?$", re.ASCII)


class _Invalid(ValueError):
    """One field's problem; the message is shown in the error table."""


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return value.strftime("%d-%m-%Y")
    return " ".join(str(value).split())


def _date(value: Any, *, excel: bool) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if excel and isinstance(value, (int, float)) and not isinstance(value, bool):
        from openpyxl.utils.datetime import from_excel

        try:
            converted = from_excel(value)
        except (ValueError, OverflowError, TypeError):
            raise _Invalid(_("Dit is geen datum.")) from None
        return converted.date() if isinstance(converted, dt.datetime) else converted
    text = _text(value)
    if not text:
        return None
    if match := _ISO_MIDNIGHT.match(text):
        text = match.group(1)
    for date_format in DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, date_format).date()
        except ValueError:
            continue
    if _DATE_SHAPE.match(text):
        raise _Invalid(_("Deze datum bestaat niet."))
    raise _Invalid(_("Schrijf de datum als dd-mm-jjjj (31-12-1950) of jjjj-mm-dd."))


def _house_number(value: Any) -> tuple[int, str]:
    text = _text(value)
    match = _HOUSE_NUMBER.match(text)
    if not match:
        raise _Invalid(_("Een huisnummer begint met cijfers, zoals 12 of 12a."))
    number = int(match.group(1))
    if number < 1:
        raise _Invalid(_("Een huisnummer is 1 of hoger."))
    return number, (match.group(2) or "").strip()


def addition_normalise(text: str) -> str:
    return " ".join(text.lstrip("-/ ").split())


def _phone(value: Any) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        digits = _text(value)
        # Excel drops the leading 0 of a phone number typed into a number cell.
        return f"0{digits}" if len(digits) == 9 and digits.isdigit() else digits
    return _text(value)


def _member_number(value: Any) -> int | None:
    text = _text(value)
    if not text:
        return None
    number = parse_int(text, minimum=1, maximum=INTEGER_MAX)
    if number is None:
        raise _Invalid(_("Een lidnummer bestaat alleen uit cijfers, zoals 1024."))
    return number


_MAX_LENGTH = {
    "given_name": 100,
    "tussenvoegsel": 20,
    "family_name": 100,
    "email": 254,
    "phone": 30,
    "street": 200,
    "town": 100,
    "addition": 10,
}


def _check_row(
    cells: list[Any], columns: dict[str, SheetColumn], *, excel: bool, today: dt.date
) -> tuple[dict[str, Any], list[tuple[str, str, str]]]:
    """One row -> (normalised values, [(column key, value shown, message)])."""
    problems: list[tuple[str, str, str]] = []
    raw = {
        key: (cells[col.index] if col.index < len(cells) else None) for key, col in columns.items()
    }
    out: dict[str, Any] = {}

    def fail(key: str, message: str) -> None:
        problems.append((key, _text(raw.get(key)), message))

    for key in ("given_name", "tussenvoegsel", "family_name", "street", "town"):
        out[key] = _text(raw.get(key))
    out["email"] = _text(raw.get("email")).lower()
    out["phone"] = _phone(raw.get("phone"))
    for key in ("given_name", "family_name", "street", "town"):
        if not out[key]:
            fail(key, _("Vul dit in."))
    for key, limit in _MAX_LENGTH.items():
        if key in out and len(out[key]) > limit:
            fail(key, _("Te lang: hoogstens %(max)s tekens.") % {"max": limit})

    if out["email"]:
        try:
            validate_email(out["email"])
        except ValidationError:
            fail("email", _("Dit is geen geldig e-mailadres."))
    if len(out["phone"]) <= _MAX_LENGTH["phone"]:
        try:
            validate_phone(out["phone"])
        except ValidationError as exc:
            fail("phone", exc.messages[0])

    postcode_text = _text(raw.get("postcode"))
    out["postcode"] = ""
    if not postcode_text:
        fail("postcode", _("Vul dit in."))
    else:
        try:
            out["postcode"] = normalise_postcode(postcode_text)
        except InvalidPostcode:
            fail("postcode", _("Een postcode is 4 cijfers en 2 letters, zoals 1234 AB."))

    out["house_number"], out["addition"] = None, addition_normalise(_text(raw.get("addition")))
    if blank(raw.get("house_number")):
        fail("house_number", _("Vul dit in."))
    else:
        try:
            number, addition = _house_number(raw.get("house_number"))
        except _Invalid as exc:
            fail("house_number", str(exc))
        else:
            out["house_number"] = number
            if (
                addition
                and out["addition"]
                and addition_normalise(addition).upper() != out["addition"].upper()
            ):
                fail(
                    "house_number",
                    _("Er staat een toevoeging in het huisnummer én in de kolom toevoeging."),
                )
            elif addition:
                out["addition"] = addition_normalise(addition)
    if len(out["addition"]) > _MAX_LENGTH["addition"]:
        fail("addition", _("Te lang: hoogstens %(max)s tekens.") % {"max": _MAX_LENGTH["addition"]})

    dates: dict[str, dt.date | None] = {}
    for key in ("date_of_birth", "joined_on", "ended_on"):
        try:
            value = _date(raw.get(key), excel=excel)
        except _Invalid as exc:
            fail(key, str(exc))
            value = None
        if value is not None and key == "date_of_birth":
            try:
                validate_date_of_birth(value)
            except ValidationError as exc:
                fail(key, exc.messages[0])
                value = None
        elif value is not None and not EARLIEST_DATE <= value <= today:
            fail(
                key,
                _("Deze datum ligt in de toekomst.")
                if value > today
                else _("Deze datum is te vroeg."),
            )
            value = None
        dates[key] = value

    status_text = _text(raw.get("status")).lower()
    status = STATUS_WORDS.get(status_text, Status.ACTIVE if not status_text else None)
    if status is None:
        fail("status", _("Kies uit: aangemeld, actief, opgezegd, overleden of geroyeerd."))
        status = Status.ACTIVE
    out["status"] = str(status)

    joined_on, ended_on = dates["joined_on"], dates["ended_on"]
    if out["status"] in ENDED:
        if ended_on is None and not problems_for(problems, "ended_on"):
            if "ended_on" in columns:
                fail("ended_on", _("Vul in tot wanneer dit lid lid was."))
            else:
                fail(
                    "status",
                    _(
                        "Voeg een kolom ‘lid tot’ toe met de datum waarop het lidmaatschap "
                        "eindigde."
                    ),
                )
        elif joined_on and ended_on and joined_on > ended_on:
            fail("ended_on", _("‘Lid tot’ ligt vóór ‘lid sinds’."))
    elif ended_on is not None:
        fail("ended_on", _("Alleen invullen bij opgezegd, overleden of geroyeerd."))

    out["date_of_birth"] = dates["date_of_birth"].isoformat() if dates["date_of_birth"] else None
    out["joined_on"] = joined_on.isoformat() if joined_on else None
    out["ended_on"] = ended_on.isoformat() if ended_on else None
    try:
        out["number"] = _member_number(raw.get("number"))
    except _Invalid as exc:
        fail("number", str(exc))
        out["number"] = None
    return out, problems


def problems_for(problems: list[tuple[str, str, str]], key: str) -> bool:
    return any(p[0] == key for p in problems)


def chunks(values: list[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(values), LOOKUP_CHUNK):
        yield values[start : start + LOOKUP_CHUNK]


def database_errors(rows: list[dict[str, Any]], columns: dict[str, list[str]]) -> list[RowError]:
    """E-mail addresses and member numbers the register already has: two queries per 5,000 rows."""
    errors: list[RowError] = []
    emails = sorted({r["email"] for r in rows if r["email"]})
    taken_emails: set[str] = set()
    for chunk in chunks(emails):
        taken_emails.update(
            Member.objects.annotate(email_ci=Lower("email"))
            .filter(email_ci__in=chunk)
            .values_list("email_ci", flat=True)
        )
    numbers = sorted({r["number"] for r in rows if r["number"]})
    taken_numbers: set[int] = set()
    for chunk in chunks(numbers):
        taken_numbers.update(
            Member.objects.filter(number__in=chunk).values_list("number", flat=True)
        )
    for r in rows:
        if r["email"] and r["email"] in taken_emails:
            errors.append(
                RowError(
                    r["row"],
                    _label(columns, "email"),
                    r["email"],
                    _("Er is al een lid met dit e-mailadres in het systeem."),
                )
            )
        if r["number"] and r["number"] in taken_numbers:
            errors.append(
                RowError(
                    r["row"],
                    _label(columns, "number"),
                    str(r["number"]),
                    _("Dit lidnummer is al in gebruik door een lid in het systeem."),
                )
            )
    return errors


def _label(columns: dict[str, list[str]], key: str) -> str:
    label, letter = columns.get(key, [COLUMN_BY_KEY[key].header, ""])
    return f"{label} ({_('kolom')} {letter})" if letter else label


def check_member_file(
    parsed: ParsedFile, *, excel: bool
) -> tuple[list[dict[str, Any]], list[RowError]]:
    """Every row checked on its own, against the other rows, and against the register."""
    today = timezone.localdate()
    columns = {key: [c.label, c.letter] for key, c in parsed.columns.items()}
    rows: list[dict[str, Any]] = []
    errors: list[RowError] = []
    first_email: dict[str, int] = {}
    first_number: dict[int, int] = {}
    for number, cells in parsed.rows:
        values, problems = _check_row(cells, parsed.columns, excel=excel, today=today)
        extra = [c for c in cells[parsed.width :] if not blank(c)]
        if extra:
            errors.append(
                RowError(
                    number,
                    _("(zonder kolomnaam)"),
                    _text(extra[0]),
                    _(
                        "Deze rij heeft meer waarden dan er kolommen zijn. Staat er een ; of , "
                        "in een waarde zonder aanhalingstekens?"
                    ),
                )
            )
        for key, shown, message in problems:
            errors.append(RowError(number, _label(columns, key), shown, message))
        if values["email"]:
            if values["email"] in first_email:
                errors.append(
                    RowError(
                        number,
                        _label(columns, "email"),
                        values["email"],
                        _("Dit e-mailadres staat ook in rij %(row)s.")
                        % {"row": first_email[values["email"]]},
                    )
                )
            else:
                first_email[values["email"]] = number
        if values["number"]:
            if values["number"] in first_number:
                errors.append(
                    RowError(
                        number,
                        _label(columns, "number"),
                        str(values["number"]),
                        _("Dit lidnummer staat ook in rij %(row)s.")
                        % {"row": first_number[values["number"]]},
                    )
                )
            else:
                first_number[values["number"]] = number
        rows.append({"row": number, **values})
    errors.extend(database_errors(rows, columns))
    return rows, errors
