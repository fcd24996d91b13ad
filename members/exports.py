"""The member list as a file: CSV for Dutch Excel (streamed) and XLSX.

Both read plain tuples with `.values_list()` in chunks, so memory stays flat however many members
there are. Text that a spreadsheet would run as a formula is neutralised.
"""

import csv
import datetime as dt
import io
import tempfile
from collections.abc import Iterable, Iterator

from django.db.models import QuerySet
from django.http import FileResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .models import Member

CHUNK_SIZE = 2000

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
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: str) -> str:
    """Text starting like a formula gets a leading apostrophe (CSV injection)."""
    return f"'{value}" if value.startswith(_FORMULA_START) else value


def export_filename(extension: str) -> str:
    return f"leden-{timezone.localdate():%Y-%m-%d}.{extension}"


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
                if row[index].startswith(_FORMULA_START):
                    row[index] = safe_cell(row[index])
        yield row


def _headers() -> list[str]:
    return [str(header) for header, _field in COLUMNS]


# CSV --------------------------------------------------------------------------------------------


def csv_lines(members: QuerySet[Member]) -> Iterable[bytes]:
    """UTF-8 with a byte order mark and ';' between cells: what Dutch Excel opens correctly.

    Dates are written as 2024-12-31, which Excel reads as a date in every language.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(_headers())
    yield ("\ufeff" + buffer.getvalue()).encode()
    batch = []
    for row in _rows(members, guard=True):
        batch.append(row)
        if len(batch) == 500:
            yield _csv_chunk(writer, buffer, batch)
            batch = []
    if batch:
        yield _csv_chunk(writer, buffer, batch)


def _csv_chunk(writer, buffer: io.StringIO, rows: list[list]) -> bytes:
    buffer.seek(0)
    buffer.truncate()
    writer.writerows(rows)
    return buffer.getvalue().encode()


def members_csv_response(members: QuerySet[Member]) -> StreamingHttpResponse:
    response = StreamingHttpResponse(csv_lines(members), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{export_filename("csv")}"'
    return response


# XLSX -------------------------------------------------------------------------------------------


def members_xlsx_response(members: QuerySet[Member]) -> FileResponse:
    """A write-only workbook spooled to a temporary file; text is never stored as a formula."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("Leden"))
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    header = []
    for title in _headers():
        cell = WriteOnlyCell(sheet, value=title)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    for row in _rows(members, guard=False):
        cells = []
        for value in row:
            cell = WriteOnlyCell(sheet, value=value)
            if isinstance(value, str):
                cell.data_type = "s"
            elif isinstance(value, dt.date):
                cell.number_format = "DD-MM-YYYY"
            cells.append(cell)
        sheet.append(cells)
    spool = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes it
    workbook.save(spool)
    spool.seek(0)
    return FileResponse(
        spool,
        as_attachment=True,
        filename=export_filename("xlsx"),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
