"""Planning households and buurten for the checked rows, and the import services themselves."""

import bisect
import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, connections, models, router, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from coop.accounts.models import User
from coop.core.services import sequence_ensure_at_least, sequence_next
from coop.lib.phone import phone_digits

from ..models import Buurt, Household, Member, MemberImport, PostcodeRange, StatusChange
from ..services import MEMBER_NUMBER_SEQUENCE, _names
from .checks import ENDED, addition_normalise, check_member_file, chunks, database_errors
from .errors import MemberImportAlreadyDone, MemberImportError, MemberImportRowErrors
from .reading import parse_member_file

logger = logging.getLogger(__name__)

Status = Member.Status
MAX_FILE_BYTES = 10 * 1024 * 1024
PENDING_KEPT_FOR = dt.timedelta(days=7)
BATCH_SIZE = 2000


def _address_key(postcode: str, house_number: int, addition: str) -> tuple[str, int, str]:
    return postcode, house_number, addition_normalise(addition).upper()


@dataclass
class PlannedHousehold:
    key: tuple[str, int, str]
    first_row: dict[str, Any]
    row_indexes: list[int] = field(default_factory=list)
    existing_id: int | None = None
    existing_address: str = ""
    household_id: int | None = None  # set when the import runs
    buurt_id: int | None = None


@dataclass
class ImportPlan:
    rows: list[dict[str, Any]]
    households: list[PlannedHousehold]
    household_of_row: list[int]
    buurt_names: dict[int, str]

    @property
    def member_count(self) -> int:
        return len(self.rows)

    @property
    def new_household_count(self) -> int:
        return sum(1 for h in self.households if h.existing_id is None)

    @property
    def existing_household_count(self) -> int:
        return sum(1 for h in self.households if h.existing_id is not None)

    @property
    def members_joining_existing(self) -> int:
        return sum(len(h.row_indexes) for h in self.households if h.existing_id is not None)

    @property
    def kept_number_count(self) -> int:
        return sum(1 for r in self.rows if r["number"])

    def per_buurt(self) -> list[dict[str, Any]]:
        """Members and households per buurt, by name; outside the area last."""
        counts: dict[int | None, list[int]] = {}
        for household in self.households:
            entry = counts.setdefault(household.buurt_id, [0, 0])
            entry[0] += len(household.row_indexes)
            entry[1] += 1
        named = sorted(
            (
                {"name": self.buurt_names[b], "members": m, "households": h, "outside": False}
                for b, (m, h) in counts.items()
                if b is not None
            ),
            key=lambda d: str(d["name"]).lower(),
        )
        if None in counts:
            m, h = counts[None]
            named.append(
                {"name": _("Buiten het werkgebied"), "members": m, "households": h, "outside": True}
            )
        return named

    @property
    def outside_member_count(self) -> int:
        return sum(len(h.row_indexes) for h in self.households if h.buurt_id is None)

    def preview_rows(self, limit: int = 50) -> list[dict[str, Any]]:
        shown = []
        for index, row in enumerate(self.rows[:limit]):
            household = self.households[self.household_of_row[index]]
            if household.existing_id is not None:
                where = _("Bij bestaand huishouden %(address)s") % {
                    "address": household.existing_address
                }
            elif household.row_indexes[0] == index:
                where = _("Nieuw huishouden")
            else:
                where = _("Zelfde adres als rij %(row)s") % {
                    "row": self.rows[household.row_indexes[0]]["row"]
                }
            shown.append(
                {
                    **row,
                    "full_name": " ".join(
                        p
                        for p in (row["given_name"], row["tussenvoegsel"], row["family_name"])
                        if p
                    ),
                    "address": _address_line(row),
                    "household": where,
                    "buurt": self.buurt_names.get(household.buurt_id)
                    if household.buurt_id
                    else None,
                    "status_label": Status(row["status"]).label,
                    "joined_on_date": dt.date.fromisoformat(row["joined_on"])
                    if row["joined_on"]
                    else None,
                }
            )
        return shown


def _address_line(row: dict[str, Any]) -> str:
    addition = row["addition"]
    number = f"{row['house_number']}{'-' if addition[:1].isdigit() else ''}{addition}"
    return f"{row['street']} {number}, {row['postcode']} {row['town']}"


def plan_import(rows: list[dict[str, Any]]) -> ImportPlan:
    """Group rows into households, match existing addresses, find each buurt: a few queries."""
    ranges = list(PostcodeRange.objects.order_by("start").values_list("start", "end", "buurt_id"))
    starts = [r[0] for r in ranges]

    def buurt_for(postcode: str) -> int | None:
        index = bisect.bisect_right(starts, postcode) - 1
        if index >= 0 and postcode <= ranges[index][1]:
            return ranges[index][2]
        return None

    existing: dict[tuple[str, int, str], Household] = {}
    postcodes = sorted({r["postcode"] for r in rows})
    for chunk in chunks(postcodes):
        found = (
            Household.objects.filter(postcode__in=chunk)
            .order_by("pk")
            .only(
                "pk",
                "street",
                "house_number",
                "house_number_addition",
                "postcode",
                "town",
                "buurt_id",
            )
        )
        for household in found:
            key = _address_key(
                household.postcode, household.house_number, household.house_number_addition
            )
            existing.setdefault(key, household)

    households: list[PlannedHousehold] = []
    index_of: dict[tuple[str, int, str], int] = {}
    household_of_row: list[int] = []
    for index, row in enumerate(rows):
        key = _address_key(row["postcode"], row["house_number"], row["addition"])
        if key not in index_of:
            index_of[key] = len(households)
            planned = PlannedHousehold(key=key, first_row=row)
            if key in existing:
                known = existing[key]
                planned.existing_id, planned.buurt_id = known.pk, known.buurt_id
                planned.existing_address = known.address_line
            else:
                planned.buurt_id = buurt_for(row["postcode"])
            households.append(planned)
        households[index_of[key]].row_indexes.append(index)
        household_of_row.append(index_of[key])
    buurt_names = dict(Buurt.objects.values_list("pk", "name"))
    return ImportPlan(
        rows=rows, households=households, household_of_row=household_of_row, buurt_names=buurt_names
    )


# Services -------------------------------------------------------------------------------------


@dataclass
class CheckedFile:
    file_name: str
    columns: dict[str, list[str]]
    rows: list[dict[str, Any]]


def member_import_upload(*, file: Any, by: User) -> MemberImport:
    """Read and check an uploaded file; keep it for the preview only when every row is right."""
    return member_import_store(checked=member_import_read(file=file), by=by)


def member_import_read(*, file: Any) -> CheckedFile:
    """Read and check an uploaded file; raises MemberImportError (MemberImportRowErrors for rows).

    It only reads, so call it outside a transaction: a large file then never holds the
    database's write lock (on SQLite other users could not log in meanwhile)."""
    name = str(getattr(file, "name", "") or "")
    size = getattr(file, "size", None)
    if size is not None and size > MAX_FILE_BYTES:
        raise MemberImportError(
            _("Het bestand is te groot (meer dan %(mb)s MB). Splits het in kleinere bestanden.")
            % {"mb": MAX_FILE_BYTES // (1024 * 1024)}
        )
    data = file.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise MemberImportError(
            _("Het bestand is te groot (meer dan %(mb)s MB). Splits het in kleinere bestanden.")
            % {"mb": MAX_FILE_BYTES // (1024 * 1024)}
        )
    parsed = parse_member_file(name=name, data=data)
    rows, errors = check_member_file(parsed, excel=data.startswith(b"PK"))
    if errors:
        raise MemberImportRowErrors(errors)
    return CheckedFile(
        file_name=name.rsplit("/", 1)[-1][:255] or "ledenlijst",
        columns={key: [c.label, c.letter] for key, c in parsed.columns.items()},
        rows=rows,
    )


def member_import_store(*, checked: CheckedFile, by: User) -> MemberImport:
    """Keep a file member_import_read has checked, for the preview."""
    return _member_import_store(
        file_name=checked.file_name, columns=checked.columns, rows=checked.rows, by=by
    )


@transaction.atomic
def _member_import_store(
    *, file_name: str, columns: dict[str, list[str]], rows: list[dict[str, Any]], by: User
) -> MemberImport:
    # Uploads nobody confirmed hold personal data for nothing: drop them after a week.
    MemberImport.objects.filter(
        status=MemberImport.Status.PENDING, created_at__lt=timezone.now() - PENDING_KEPT_FOR
    ).delete()
    return MemberImport.objects.create(
        uploaded_by=by, file_name=file_name, columns=columns, rows=rows, row_count=len(rows)
    )


def member_import_confirm(*, member_import: MemberImport, by: User) -> int:
    """Import a checked file, all or nothing; a second confirmation imports nothing.

    Returns the number of members created. Raises MemberImportAlreadyDone, or
    MemberImportRowErrors when the register changed since the preview (e.g. an e-mail address
    is now taken).
    """
    try:
        return _member_import_execute(member_import=member_import, by=by)
    except IntegrityError as exc:
        logger.warning("Member import %s hit a constraint: %s", member_import.pk, exc)
        raise MemberImportError(
            _(
                "Tijdens het importeren is tegelijk iets anders in de ledenlijst veranderd. Er is "
                "niets geïmporteerd. Probeer het opnieuw."
            )
        ) from None


@transaction.atomic
def _member_import_execute(*, member_import: MemberImport, by: User) -> int:
    claimed = MemberImport.objects.filter(
        pk=member_import.pk, status=MemberImport.Status.PENDING
    ).update(status=MemberImport.Status.IMPORTED, imported_at=timezone.now(), imported_by=by)
    if not claimed:
        raise MemberImportAlreadyDone()
    stored = MemberImport.objects.values("rows", "columns", "file_name").get(pk=member_import.pk)
    rows: list[dict[str, Any]] = stored["rows"]

    kept = [r["number"] for r in rows if r["number"]]
    if kept:
        sequence_ensure_at_least(name=MEMBER_NUMBER_SEQUENCE, value=max(kept))
    fresh_count = len(rows) - len(kept)
    next_number = (
        sequence_next(name=MEMBER_NUMBER_SEQUENCE, count=fresh_count) if fresh_count else 0
    )

    errors = database_errors(rows, stored["columns"])
    if errors:
        raise MemberImportRowErrors(errors)  # rolls back the claim too: the import stays pending

    plan = plan_import(rows)
    new_households = [h for h in plan.households if h.existing_id is None]
    created = Household.objects.bulk_create(
        [
            Household(
                street=h.first_row["street"],
                house_number=h.first_row["house_number"],
                house_number_addition=h.first_row["addition"],
                postcode=h.first_row["postcode"],
                town=h.first_row["town"],
                buurt_id=h.buurt_id,
            )
            for h in new_households
        ],
        batch_size=BATCH_SIZE,
    )
    for planned, household in zip(new_households, created, strict=True):
        planned.household_id = household.pk
    for planned in plan.households:
        planned.household_id = planned.household_id or planned.existing_id

    today = timezone.localdate()
    members: list[dict[str, Any]] = []
    for index, r in enumerate(rows):
        if r["number"]:
            number = r["number"]
        else:
            number, next_number = next_number, next_number + 1
        joined_on = _date(r["joined_on"])
        ended_on = _date(r["ended_on"])
        status = r["status"]
        if status == Status.ACTIVE:
            joined_on = joined_on or today
        sort_name, search_name = _names(r["given_name"], r["tussenvoegsel"], r["family_name"])
        email = r["email"]
        members.append(
            {
                "number": number,
                "household_id": plan.households[plan.household_of_row[index]].household_id,
                "given_name": r["given_name"],
                "tussenvoegsel": r["tussenvoegsel"],
                "family_name": r["family_name"],
                "sort_name": sort_name,
                "search_name": search_name,
                "email": email,
                "phone": r["phone"],
                "phone_digits": phone_digits(r["phone"]),
                "date_of_birth": _date(r["date_of_birth"]),
                "contact_preference": "email" if email else "letter",
                "status": status,
                "applied_on": joined_on or ended_on or today,
                "joined_on": joined_on if status != Status.APPLIED else None,
                "ended_on": ended_on if status in ENDED else None,
                "created_by_id": by.pk,
            }
        )
    _insert_many(Member, members)

    member_ids: dict[int, int] = {}
    for chunk in chunks([m["number"] for m in members]):
        member_ids.update(Member.objects.filter(number__in=chunk).values_list("number", "pk"))
    reason = _("Geïmporteerd uit %(file)s") % {"file": stored["file_name"]}
    history: list[dict[str, Any]] = []
    for m in members:
        change = {"member_id": member_ids[m["number"]], "reason": reason, "changed_by_id": by.pk}
        if m["status"] in ENDED and m["joined_on"]:
            history.append(
                {**change, "to_status": Status.ACTIVE.value, "effective_on": m["joined_on"]}
            )
            history.append(
                {
                    **change,
                    "from_status": Status.ACTIVE.value,
                    "to_status": m["status"],
                    "effective_on": m["ended_on"],
                }
            )
        else:
            effective_on = m["ended_on"] or m["joined_on"] or m["applied_on"]
            history.append({**change, "to_status": m["status"], "effective_on": effective_on})
    _insert_many(StatusChange, history)

    MemberImport.objects.filter(pk=member_import.pk).update(
        rows=[],
        summary={
            "members": plan.member_count,
            "new_households": len(new_households),
            "existing_households": plan.existing_household_count,
            "outside_area": plan.outside_member_count,
        },
    )
    return len(members)


def _date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def _insert_many(model: type[models.Model], rows: list[dict[str, Any]]) -> None:
    """Insert rows given as {attname: plain value}; fields left out get their default.

    PostgreSQL gets them through COPY, several times faster than a bulk INSERT for 10,000
    members (the search indexes make each insert dear); other databases use bulk_create.
    Values must be what the driver sends as is: str, int, date, datetime or None.
    """
    db = connections[router.db_for_write(model)]
    if db.vendor != "postgresql":
        model._default_manager.bulk_create([model(**row) for row in rows], batch_size=BATCH_SIZE)
        return
    now = timezone.now()
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    defaults = [
        now
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
        else f.get_db_prep_save(f.get_default(), db)
        for f in fields
    ]
    names = [f.attname for f in fields]
    quote = db.ops.quote_name
    columns = ", ".join(quote(str(f.column)) for f in fields)
    with (
        db.wrap_database_errors,
        db.cursor() as cursor,
        cursor.cursor.copy(f"COPY {quote(model._meta.db_table)} ({columns}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(
                [row.get(name, default) for name, default in zip(names, defaults, strict=True)]
            )
