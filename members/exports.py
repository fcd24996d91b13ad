"""The member list as a file: CSV for Dutch Excel (streamed) and XLSX.

Both read plain tuples with `.values_list()` in chunks, so memory stays flat however many members
there are. Text that a spreadsheet would run as a formula is neutralised.
"""

import csv
import datetime as dt
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
_STATUS_INDEX = [field for _header, field in COLUMNS].index("status")
_BUURT_INDEX = [field for _header, field in COLUMNS].index("household__buurt__name")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: str) -> str:
    """Text starting like a formula gets a leading apostrophe (CSV injection)."""
    return f"'{value}" if value.startswith(_FORMULA_START) else value


def export_filename(extension: str) -> str:
    return f"leden-{timezone.localdate():%Y-%m-%d}.{extension}"


def _rows(members: QuerySet[Member]) -> Iterator[tuple]:
    """Tuples in COLUMNS order, with the status and buurt as people read them."""
    statuses = {value: str(label) for value, label in Member.Status.choices}
    outside = _("Buiten werkgebied")
    values = members.values_list(*(field for _header, field in COLUMNS))
    for row in values.iterator(chunk_size=CHUNK_SIZE):
        row = list(row)
        row[_STATUS_INDEX] = statuses.get(row[_STATUS_INDEX], row[_STATUS_INDEX])
        row[_BUURT_INDEX] = row[_BUURT_INDEX] or outside
        yield row


def _headers() -> list[str]:
    return [str(header) for header, _field in COLUMNS]


# CSV --------------------------------------------------------------------------------------------


class _Echo:
    """A file-like object that hands back what the csv writer writes."""

    def write(self, value: str) -> str:
        return value


def _csv_value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        return safe_cell(value)
    return str(value)


def csv_lines(members: QuerySet[Member]) -> Iterable[bytes]:
    """UTF-8 with a byte order mark and ';' between cells: what Dutch Excel opens correctly."""
    writer = csv.writer(_Echo(), delimiter=";", lineterminator="\r\n")
    yield ("\ufeff" + writer.writerow(_headers())).encode()
    batch: list[str] = []
    for row in _rows(members):
        batch.append(writer.writerow([_csv_value(value) for value in row]))
        if len(batch) >= 500:
            yield "".join(batch).encode()
            batch = []
    if batch:
        yield "".join(batch).encode()


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
    for row in _rows(members):
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
