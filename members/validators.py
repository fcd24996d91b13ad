"""Checks on a person's details shared by every way they come in: the coordinator's member form,
the member's own forms and sign-up, and the member import. Kept in one place so that a value one
of them refuses cannot slip in through another.
"""

import datetime as dt
import re

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# Digits with the separators people write (06-12345678, 0528 12 34 56, +31 (0)6 1234 5678),
# within the 30 characters the model keeps.
PHONE_PATTERN = re.compile(r"^\+?[0-9][0-9 ()./-]{5,28}$")
EARLIEST_DATE = dt.date(1900, 1, 1)
# A four-digit year only: '05-06-20' would make someone born in 1920 a child of 2020.
DATE_FORMATS = ("%Y-%m-%d", "%d-%m-%Y", "%d/%m/%Y")


def validate_phone(value: str) -> None:
    if value and not PHONE_PATTERN.match(value):
        raise ValidationError(
            _("Vul een telefoonnummer in, bijvoorbeeld 06 12345678."), code="invalid_phone"
        )


def validate_date_of_birth(value: dt.date | None) -> None:
    if value and not EARLIEST_DATE <= value <= timezone.localdate():
        raise ValidationError(_("Deze geboortedatum kan niet kloppen."), code="date_of_birth")
