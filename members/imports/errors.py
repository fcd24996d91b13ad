"""What can be wrong with an import: the file as a whole, some rows, or a second confirmation."""

from collections.abc import Iterable
from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from ..services import MembershipError


class MemberImportError(MembershipError):
    """The file as a whole cannot be used. `details` lists what exactly is wrong."""

    def __init__(self, message: str, details: Iterable[str] = ()):
        super().__init__(message)
        self.message = message
        self.details = list(details)


@dataclass(frozen=True)
class RowError:
    row: int
    column: str
    value: str
    message: str


class MemberImportRowErrors(MemberImportError):
    """Some rows are wrong; none of the file is imported."""

    def __init__(self, errors: list[RowError]):
        self.errors = sorted(errors, key=lambda e: e.row)
        super().__init__(
            ngettext(
                "Er is niets geïmporteerd: %(count)s fout in het bestand.",
                "Er is niets geïmporteerd: %(count)s fouten in het bestand.",
                len(errors),
            )
            % {"count": len(errors)}
        )


class MemberImportAlreadyDone(MemberImportError):
    def __init__(self) -> None:
        super().__init__(_("Dit bestand is al geïmporteerd. Er is niets dubbel toegevoegd."))
