"""Invoices and ledger entries as files for the treasurer and the kascommissie: CSV for Dutch Excel
(';' and decimal commas, streamed) and XLSX (amounts as numbers). Text that a spreadsheet would run
as a formula is neutralised."""

from __future__ import annotations

import csv
import datetime as dt
import tempfile
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal

from django.db.models import QuerySet
from django.http import FileResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import Invoice, LedgerEntry
from .selectors import invoices_with_balance

CHUNK_SIZE = 2000
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _safe(value: str) -> str:
    return f"'{value}" if value.startswith(_FORMULA_START) else value


def _invoice_columns() -> list[str]:
    return [
        _("factuurnummer"), _("soort"), _("jaar"), _("contributiejaar"), _("datum"),
        _("te betalen voor"),
        _("naam"), _("adres"), _("postcode"), _("plaats"), _("buurt"),
        _("bedrag"), _("betaald"), _("openstaand"), _("status"), _("bij factuur"),
    ]  # fmt: skip


def _invoice_rows(invoices: QuerySet[Invoice]) -> Iterator[list]:
    kinds = dict(Invoice.Kind.choices)
    statuses = dict(Invoice.Status.choices)
    rows = invoices_with_balance(invoices.order_by("year", "sequence")).values_list(
        "number", "kind", "year", "dues_year", "issued_on", "due_on",
        "recipient_name", "street", "house_number", "postcode", "town", "household__buurt__name",
        "total", "paid", "balance", "status", "credited_invoice__number",
    )  # fmt: skip
    for r in rows.iterator(chunk_size=CHUNK_SIZE):
        yield [
            r[0], str(kinds.get(r[1], r[1])), r[2], r[3], r[4], r[5],
            r[6], f"{r[7]} {r[8]}", r[9], r[10], r[11] or "",
            r[12], r[13], r[14], str(statuses.get(r[15], r[15])), r[16] or "",
        ]  # fmt: skip


def _ledger_columns() -> list[str]:
    return [
        _("boekdatum"),
        _("factuurnummer"),
        _("naam"),
        _("soort"),
        _("bron"),
        _("kenmerk"),
        _("bedrag"),
        _("notitie"),
    ]


def _ledger_rows(entries: QuerySet[LedgerEntry]) -> Iterator[list]:
    kinds = dict(LedgerEntry.Kind.choices)
    sources = dict(LedgerEntry.Source.choices)
    rows = entries.values_list(
        "booked_on",
        "invoice__number",
        "invoice__recipient_name",
        "kind",
        "source",
        "external_id",
        "amount",
        "note",
    ).order_by("booked_on", "pk")
    for r in rows.iterator(chunk_size=CHUNK_SIZE):
        yield [
            r[0],
            r[1],
            r[2],
            str(kinds.get(r[3], r[3])),
            str(sources.get(r[4], r[4])),
            r[5],
            r[6],
            r[7],
        ]


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:.2f}".replace(".", ",")
    if isinstance(value, dt.date):
        return value.strftime("%d-%m-%Y")
    if isinstance(value, str):
        return _safe(value)
    return str(value)


def _csv_lines(headers: list[str], rows: Iterable[list]) -> Iterator[bytes]:
    writer = csv.writer(_Echo(), delimiter=";", lineterminator="\r\n")
    yield ("\ufeff" + writer.writerow(headers)).encode()
    batch: list[str] = []
    for row in rows:
        batch.append(writer.writerow([_csv_value(v) for v in row]))
        if len(batch) >= 500:
            yield "".join(batch).encode()
            batch = []
    if batch:
        yield "".join(batch).encode()


def _filename(stem: str, extension: str) -> str:
    return f"{stem}-{timezone.localdate():%Y-%m-%d}.{extension}"


def _csv_response(stem: str, headers: list[str], rows: Iterable[list]) -> StreamingHttpResponse:
    response = StreamingHttpResponse(
        _csv_lines(headers, rows), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{_filename(stem, "csv")}"'
    return response


def _xlsx_response(stem: str, title: str, headers: list[str], rows: Iterable[list]) -> FileResponse:
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
        spool,
        as_attachment=True,
        filename=_filename(stem, "xlsx"),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


def invoices_export(invoices: QuerySet[Invoice], fmt: str):
    return _export("facturen", _("Facturen"), _invoice_columns, _invoice_rows, invoices, fmt)


def ledger_export(entries: QuerySet[LedgerEntry], fmt: str):
    return _export("boekingen", _("Boekingen"), _ledger_columns, _ledger_rows, entries, fmt)


def _export(stem: str, title: str, columns: Callable, rows: Callable, queryset: QuerySet, fmt: str):
    if fmt == "xlsx":
        return _xlsx_response(stem, title, columns(), rows(queryset))
    return _csv_response(stem, columns(), rows(queryset))
