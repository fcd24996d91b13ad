"""From an uploaded CSV or XLSX file to a header and rows of cell values."""

import csv
import io
import logging
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from .columns import COLUMNS, HEADER_KEYS, expected_headers, header_key
from .errors import MemberImportError

logger = logging.getLogger(__name__)

MAX_ROWS = 25_000
# A full member list (25,000 rows of 15 columns) unpacks to about 20 MB of sheet XML; openpyxl
# reads about 6 MB of it a second. Beyond these a workbook is not a member list but a zip bomb.
MAX_UNPACKED_BYTES = 60 * 1024 * 1024
MAX_RATIO = 100  # real sheets pack about 10:1
RATIO_FROM_BYTES = 5 * 1024 * 1024
MAX_ARCHIVE_PARTS = 1000
LISTED_COLUMNS = 20  # a sheet of thousands of wrong columns must not make a page of megabytes


@dataclass
class SheetColumn:
    key: str
    label: str
    letter: str
    index: int


@dataclass
class ParsedFile:
    columns: dict[str, SheetColumn]
    rows: list[tuple[int, list[Any]]]  # (row number as the spreadsheet shows it, cell values)
    width: int


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _encoding_error() -> MemberImportError:
    return MemberImportError(
        _(
            "Dit CSV-bestand is niet opgeslagen als UTF-8, daardoor kunnen letters als é en ë "
            "verkeerd binnenkomen. Er is niets geïmporteerd."
        ),
        [
            _("Open het bestand in Excel."),
            _("Kies Bestand > Opslaan als."),
            _("Kies bij ‘Opslaan als type’: CSV UTF-8 (door komma's gescheiden) (*.csv)."),
            _("Sla op en upload dat nieuwe bestand hier. Een Excel-bestand (.xlsx) mag ook."),
        ],
    )


def _read_csv(data: bytes) -> Iterator[tuple[int, list[Any]]]:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in data[:4096]:
        raise _encoding_error()  # UTF-16, Excel's "Unicode text"
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _encoding_error() from None
    first_line = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = max((";", ",", "\t"), key=first_line.count)
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        yield from enumerate(reader, 1)
    except csv.Error as exc:
        raise MemberImportError(
            _(
                "Dit CSV-bestand kan niet worden gelezen (%(error)s). "
                "Sla het opnieuw op als CSV UTF-8."
            )
            % {"error": exc}
        ) from None


def _check_archive(data: bytes) -> None:
    """Refuse a zip bomb before anything is unpacked, from the sizes the archive declares.

    Declared sizes are enough: zipfile stops every part at its declared size (a part that
    unpacks to more fails its checksum), so openpyxl never reads more than is summed here.
    Only stored and deflated parts are allowed (what Excel writes): bzip2 and lzma inflate a
    whole block at once, before that limit applies."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return  # not a readable zip: the reader says so
    unpacked = sum(part.file_size for part in parts)
    if (
        len(parts) > MAX_ARCHIVE_PARTS
        or unpacked > MAX_UNPACKED_BYTES
        or any(
            part.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
            or (
                part.file_size > RATIO_FROM_BYTES
                and part.file_size > MAX_RATIO * max(part.compress_size, 1)
            )
            for part in parts
        )
    ):
        logger.warning(
            "Refused xlsx upload: %s parts, %s bytes unpacked from %s",
            len(parts),
            unpacked,
            len(data),
        )
        raise MemberImportError(
            _(
                "Dit Excel-bestand bevat veel meer gegevens dan een ledenlijst kan hebben. Uit "
                "veiligheid lezen wij het niet in. Er is niets geïmporteerd."
            ),
            [
                _("Haal lege rijen, lege kolommen en andere tabbladen weg en sla het opnieuw op."),
                _("Of sla het op als CSV UTF-8 en upload dat bestand hier."),
            ],
        )


def _read_xlsx(data: bytes) -> Iterator[tuple[int, list[Any]]]:
    import openpyxl

    unreadable = MemberImportError(
        _(
            "Dit Excel-bestand kan niet worden gelezen. Open het in Excel en sla het opnieuw op "
            "als Excel-werkmap (.xlsx) of als CSV UTF-8."
        )
    )
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds of errors for damaged files
        logger.info("Unreadable xlsx upload: %r", exc)
        raise unreadable from None
    try:
        if not workbook.worksheets:
            return
        sheet = workbook.worksheets[0]
        sheet.reset_dimensions()  # the stored dimensions are often wrong; read what is there
        for number, cells in enumerate(sheet.iter_rows(values_only=True), 1):
            yield number, list(cells)
    except MemberImportError:
        raise
    except Exception as exc:
        logger.info("Unreadable xlsx upload: %r", exc)
        raise unreadable from None
    finally:
        workbook.close()


def parse_member_file(*, name: str, data: bytes) -> ParsedFile:
    """Read the header and the non-blank rows of a CSV or XLSX file; raises MemberImportError."""
    if not data.strip():
        raise MemberImportError(_("Het bestand is leeg. Kies het bestand met uw ledenlijst."))
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise MemberImportError(
            _(
                "Dit is een oud Excel-bestand (.xls). Open het in Excel en sla het op als "
                "Excel-werkmap (.xlsx) of als CSV UTF-8."
            )
        )
    if data.startswith(b"PK\x03\x04"):
        _check_archive(data)
        if _is_opendocument(data):
            raise MemberImportError(
                _(
                    "Dit is een LibreOffice/OpenOffice-bestand (.ods). Sla het op als "
                    "Excel-werkmap (.xlsx) of als CSV (UTF-8)."
                )
            )
        lines: Iterator[tuple[int, list[Any]]] = _read_xlsx(data)
    elif extension in ("xlsx", "xlsm"):
        raise MemberImportError(
            _("Dit bestand heet .xlsx maar is geen Excel-werkmap. Sla het opnieuw op in Excel.")
        )
    else:
        lines = _read_csv(data)

    header: list[Any] | None = None
    rows: list[tuple[int, list[Any]]] = []
    for number, cells in lines:
        if all(blank(c) for c in cells):
            continue
        if header is None:
            header = cells
            header_row = number
            continue
        rows.append((number, cells))
        if len(rows) > MAX_ROWS:
            raise MemberImportError(
                _("Het bestand heeft meer dan %(max)s rijen. Splits het in kleinere bestanden.")
                % {"max": f"{MAX_ROWS:,}".replace(",", ".")}
            )
    if header is None:
        raise MemberImportError(_("Het bestand is leeg. Kies het bestand met uw ledenlijst."))

    columns = _match_header(header, rows, header_row)
    if not rows:
        raise MemberImportError(
            _(
                "Het bestand heeft alleen kolomnamen en geen leden. Zet elk lid op een eigen rij, "
                "onder de kolomnamen."
            )
        )
    return ParsedFile(columns=columns, rows=rows, width=len(header))


def _is_opendocument(data: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive, archive.open("mimetype") as mimetype:
            return mimetype.read(100).startswith(b"application/vnd.oasis.opendocument")
    except (KeyError, zipfile.BadZipFile, OSError):
        return False


def _listed(names: list[str]) -> str:
    return ", ".join(names[:LISTED_COLUMNS]) + (", …" if len(names) > LISTED_COLUMNS else "")


def _match_header(
    header: list[Any], rows: list[tuple[int, list[Any]]], header_row: int
) -> dict[str, SheetColumn]:
    columns: dict[str, SheetColumn] = {}
    unknown: list[str] = []
    doubled: list[str] = []
    filled: set[int] | None = None  # columns with a value in some row, found once
    for index, raw in enumerate(header):
        label = str(raw if raw is not None else "").strip().lstrip("\ufeff")
        letter = _column_letter(index)
        if not label:
            if filled is None:
                filled = {
                    i for _n, cells in rows for i, value in enumerate(cells) if not blank(value)
                }
            if index in filled:
                unknown.append(_("kolom %(letter)s heeft geen naam") % {"letter": letter})
            continue
        key = HEADER_KEYS.get(header_key(label))
        if key is None:
            unknown.append(f"‘{label}’ ({_('kolom')} {letter})")
        elif key in columns:
            doubled.append(f"‘{label}’ ({_('kolom')} {letter})")
        else:
            columns[key] = SheetColumn(key=key, label=label, letter=letter, index=index)
    missing = [c.header for c in COLUMNS if c.required and c.key not in columns]
    if missing or unknown or doubled:
        details = []
        if missing:
            details.append(_("Deze kolommen ontbreken: %(names)s.") % {"names": ", ".join(missing)})
        if unknown:
            details.append(
                _("Deze kolommen kennen we niet: %(names)s.") % {"names": _listed(unknown)}
            )
        if doubled:
            details.append(
                _("Deze kolommen staan er twee keer in: %(names)s.") % {"names": _listed(doubled)}
            )
        details.append(
            _("Rij %(row)s moet de kolomnamen bevatten. Mogelijke kolomnamen: %(names)s.")
            % {"row": header_row, "names": expected_headers()}
        )
        raise MemberImportError(
            _("De kolommen in het bestand kloppen niet. Er is niets geïmporteerd."), details
        )
    return columns
