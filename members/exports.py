"""The member list as a file: CSV for Dutch Excel (streamed) and XLSX.

Both read plain tuples with `.values_list()` in chunks, so memory stays flat however many members
there are. Text that a spreadsheet would run as a formula is neutralised.
"""

from collections.abc import Iterator

from django.db.models import QuerySet
from django.http import FileResponse, StreamingHttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from coop.lib.exports import (
    CHUNK_SIZE,
    FORMULA_START,
    csv_response,
    export_filename,
    safe_cell,
    xlsx_response,
)

from .models import Member

# (header, field) in file order.
COLUMNS = [
    (gettext_lazy("lidnummer"), "number"),
    (gettext_lazy("voornaam"), "given_name"),
    (gettext_lazy("tussenvoegsel"), "tussenvoegsel"),
    (gettext_lazy("achternaam"), "family_name"),
    (gettext_lazy("e-mail"), "email"),
    (gettext_lazy("telefoon"), "phone"),
    (gettext_lazy("geboortedatum"), "date_of_birth"),
    (gettext_lazy("straat"), "household__street"),
    (gettext_lazy("huisnummer"), "household__house_number"),
    (gettext_lazy("toevoeging"), "household__house_number_addition"),
    (gettext_lazy("postcode"), "household__postcode"),
    (gettext_lazy("plaats"), "household__town"),
    (gettext_lazy("buurt"), "household__buurt__name"),
    (gettext_lazy("status"), "status"),
    (gettext_lazy("aangemeld op"), "applied_on"),
    (gettext_lazy("lid sinds"), "joined_on"),
    (gettext_lazy("lid tot"), "ended_on"),
]
_FIELDS = [field for _header, field in COLUMNS]
_STATUS_INDEX = _FIELDS.index("status")
_BUURT_INDEX = _FIELDS.index("household__buurt__name")
# Columns people type into; the others are numbers, dates, or values the system sets.
_TYPED_INDEXES = [
    _FIELDS.index(field)
    for field in (
        "given_name",
        "tussenvoegsel",
        "family_name",
        "email",
        "phone",
        "household__street",
        "household__house_number_addition",
        "household__town",
        "household__buurt__name",
    )
]


def _rows(members: QuerySet[Member], *, guard: bool) -> Iterator[list]:
    """Lists in COLUMNS order, with the status and buurt as people read them.

    `guard`: neutralise text that a spreadsheet would read as a formula (for CSV; the XLSX
    writer stores such text as text).
    """
    statuses = {value: str(label) for value, label in Member.Status.choices}
    outside = _("Buiten werkgebied")
    values = members.values_list(*_FIELDS)
    for values_row in values.iterator(chunk_size=CHUNK_SIZE):
        row = list(values_row)
        row[_STATUS_INDEX] = statuses.get(row[_STATUS_INDEX], row[_STATUS_INDEX])
        row[_BUURT_INDEX] = row[_BUURT_INDEX] or outside
        if guard:
            for index in _TYPED_INDEXES:
                if row[index].startswith(FORMULA_START):
                    row[index] = safe_cell(row[index])
        yield row


def _headers() -> list[str]:
    return [str(header) for header, _field in COLUMNS]


def members_csv_response(members: QuerySet[Member]) -> StreamingHttpResponse:
    """Dates stay 2024-12-31, which Excel reads as a date in every language."""
    return csv_response(export_filename("leden", "csv"), _headers(), _rows(members, guard=True))


def members_xlsx_response(members: QuerySet[Member]) -> FileResponse:
    return xlsx_response(
        export_filename("leden", "xlsx"), _("Leden"), _headers(), _rows(members, guard=False)
    )
