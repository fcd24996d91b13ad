"""Importing members from the cooperative's own spreadsheet (CSV or Excel .xlsx).

A file is read and checked in full before anything is stored: one bad row means nothing is
imported, and every problem is reported with the row and column the spreadsheet shows (the
header is row 1). A file that passes is kept as normalised rows (`MemberImport`) so the
coordinator sees a preview first; confirming creates all households, members and their status
history in one transaction with bulk inserts, so a file of 10,000 rows takes seconds.

Imported members do not get a welcome message: they are existing members moving into the
system, not new ones.
"""

from .columns import COLUMNS, example_csv, expected_headers
from .errors import MemberImportAlreadyDone, MemberImportError, MemberImportRowErrors, RowError
from .reading import MAX_ROWS, parse_member_file
from .services import (
    MAX_FILE_BYTES,
    CheckedFile,
    ImportPlan,
    member_import_confirm,
    member_import_read,
    member_import_store,
    member_import_upload,
    plan_import,
)

__all__ = [
    "COLUMNS",
    "MAX_FILE_BYTES",
    "MAX_ROWS",
    "CheckedFile",
    "ImportPlan",
    "MemberImportAlreadyDone",
    "MemberImportError",
    "MemberImportRowErrors",
    "RowError",
    "example_csv",
    "expected_headers",
    "member_import_confirm",
    "member_import_read",
    "member_import_store",
    "member_import_upload",
    "parse_member_file",
    "plan_import",
]
