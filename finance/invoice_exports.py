"""Invoices and ledger entries as files for the treasurer and the kascommissie: CSV for Dutch Excel
(';' and decimal commas, streamed) and XLSX (amounts as numbers). Text that a spreadsheet would run
as a formula is neutralised."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from coop.lib.exports import (
    CHUNK_SIZE,
    csv_response,
    dutch_csv_cell,
    export_filename,
    xlsx_response,
)

from .models import Invoice, LedgerEntry
from .selectors import invoices_with_balance


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


def invoices_export(invoices: QuerySet[Invoice], fmt: str):
    return _export("facturen", _("Facturen"), _invoice_columns, _invoice_rows, invoices, fmt)


def ledger_export(entries: QuerySet[LedgerEntry], fmt: str):
    return _export("boekingen", _("Boekingen"), _ledger_columns, _ledger_rows, entries, fmt)


def _export(stem: str, title: str, columns: Callable, rows: Callable, queryset: QuerySet, fmt: str):
    if fmt == "xlsx":
        return xlsx_response(export_filename(stem, "xlsx"), title, columns(), rows(queryset))
    return csv_response(
        export_filename(stem, "csv"), columns(), rows(queryset), cell=dutch_csv_cell
    )
