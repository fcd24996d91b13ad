"""Lists as files people open in a spreadsheet: CSV for Dutch Excel (streamed) and XLSX.

The caller gives headers and an iterator of rows, so a list of any length is written without being
held in memory: CSV goes out in batches as it is produced, XLSX is built write-only in a temporary
file. Text that a spreadsheet would run as a formula must not reach it as a formula: CSV cells are
neutralised with `safe_cell`, XLSX cells are stored as text.
"""

import csv
import datetime as dt
import tempfile
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from typing import Any

from django.http import FileResponse, StreamingHttpResponse
from django.utils import timezone

# Rows a queryset iterator fetches at once; small enough to keep memory flat at 50,000 rows.
CHUNK_SIZE = 2000
# CSV rows per chunk the response yields; fewer, larger writes are what makes streaming fast.
CSV_BATCH = 500
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def safe_cell(value: str) -> str:
    """A leading apostrophe keeps a spreadsheet from running the text as a formula (CSV injection)."""
    return f"'{value}" if value.startswith(FORMULA_START) else value


def dutch_csv_cell(value: Any) -> str:
    """What Dutch Excel reads as the right type: 1234,50 and 31-12-2024; text neutralised."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:.2f}".replace(".", ",")
    if isinstance(value, dt.date):
        return value.strftime("%d-%m-%Y")
    if isinstance(value, str):
        return safe_cell(value)
    return str(value)


def export_filename(stem: str, extension: str) -> str:
    """Dated, so a download next month does not overwrite this one."""
    return f"{stem}-{timezone.localdate():%Y-%m-%d}.{extension}"


class _Echo:
    """A file for `csv.writer` that hands each line back instead of storing it."""

    def write(self, value: str) -> str:
        return value


def csv_lines(
    headers: Iterable[str],
    rows: Iterable[list],
    *,
    cell: Callable[[Any], Any] | None = None,
) -> Iterator[bytes]:
    """UTF-8 with a byte order mark and ';' between cells: what Dutch Excel opens correctly.

    `cell` formats each value; without it the rows must already be safe (the caller neutralised
    the text), which saves a call per cell on long lists.
    """
    writer = csv.writer(_Echo(), delimiter=";", lineterminator="\r\n")
    yield ("\ufeff" + writer.writerow(list(headers))).encode()
    batch: list[str] = []
    for row in rows:
        batch.append(writer.writerow(row if cell is None else [cell(value) for value in row]))
        if len(batch) >= CSV_BATCH:
            yield "".join(batch).encode()
            batch = []
    if batch:
        yield "".join(batch).encode()


def csv_response(
    filename: str,
    headers: Iterable[str],
    rows: Iterable[list],
    *,
    cell: Callable[[Any], Any] | None = None,
) -> StreamingHttpResponse:
    response = StreamingHttpResponse(
        csv_lines(headers, rows, cell=cell), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def xlsx_response(
    filename: str, title: str, headers: Iterable[str], rows: Iterable[list]
) -> FileResponse:
    """Amounts and dates stay numbers Excel can sum and sort; text is never stored as a formula."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title)
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    header_cells = []
    for text in headers:
        cell = WriteOnlyCell(sheet, value=text)
        cell.font = bold
        header_cells.append(cell)
    sheet.append(header_cells)
    for row in rows:
        cells = []
        for value in row:
            cell = WriteOnlyCell(sheet, value=value)
            if isinstance(value, str):
                cell.data_type = "s"
            elif isinstance(value, Decimal):
                cell.number_format = "#,##0.00"
            elif isinstance(value, dt.date):
                cell.number_format = "DD-MM-YYYY"
            cells.append(cell)
        sheet.append(cells)
    spool = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes it
    workbook.save(spool)
    spool.seek(0)
    return FileResponse(
        spool, as_attachment=True, filename=filename, content_type=XLSX_CONTENT_TYPE
    )
