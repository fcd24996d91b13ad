"""Account numbers and SEPA identifiers: IBAN and BIC (checked with schwifty), mandate
references and the creditor identifier, with messages a member understands.

- A mandate reference is at most 35 characters from `A-Z a-z 0-9 : ? / + ( ) , . -` and space,
  not starting or ending with "/" and without "//" (the EPC identifier rules).
- The creditor identifier is `NL` + 2 check digits + `ZZZ` + 8-digit KvK number + `0000`.
"""

from __future__ import annotations

import re

from django.utils.translation import gettext as _
from schwifty import BIC, IBAN
from schwifty import exceptions as iban_errors

from . import FinanceError

REFERENCE_PREFIX = "WKC"
_REFERENCE_CHARS = re.compile(r"[A-Za-z0-9:?/+(),. -]+")
_CREDITOR_ID = re.compile(r"^([A-Z]{2})([0-9]{2})([A-Z0-9]{3})([A-Z0-9]{1,28})$")
_CREDITOR_ID_NL = re.compile(r"^NL[0-9]{2}[A-Z0-9]{3}[0-9]{8}0000$")


# Account numbers and identifiers ---------------------------------------------------------------


def iban_validate(value: str) -> IBAN:
    """A checked IBAN, or FinanceError with what is wrong in words a member understands."""
    value = (value or "").strip()
    if not value:
        raise FinanceError(_("Vul uw rekeningnummer (IBAN) in."))
    try:
        iban = IBAN(value)
    except iban_errors.InvalidChecksumDigits:
        raise FinanceError(
            _(
                "Dit IBAN klopt niet: de controlecijfers passen niet bij het rekeningnummer. "
                "Kijk het nummer nog eens na op uw bankpas of bankafschrift."
            )
        ) from None
    except iban_errors.InvalidBBANChecksum:
        raise FinanceError(
            _("Dit IBAN klopt niet: er zit een tikfout in het rekeningnummer.")
        ) from None
    except iban_errors.InvalidLength:
        raise FinanceError(
            _(
                "Dit IBAN heeft niet het goede aantal tekens. Een Nederlands IBAN heeft 18 tekens, "
                "bijvoorbeeld NL91 ABNA 0417 1643 00."
            )
        ) from None
    except iban_errors.InvalidCountryCode:
        raise FinanceError(_("Dit IBAN begint niet met een bekende landcode, zoals NL.")) from None
    except (iban_errors.SchwiftyException, ValueError):
        raise FinanceError(_("Dit is geen geldig IBAN. Kijk het nummer nog eens na.")) from None
    if not iban.in_sepa_zone:
        raise FinanceError(_("Van een rekening in dit land kunnen wij geen incasso doen."))
    return iban


def bic_validate(value: str, *, iban: IBAN | None = None) -> str:
    """The BIC as given (checked), else the one schwifty knows for the IBAN's bank, else ''."""
    value = (value or "").replace(" ", "").upper()
    if not value:
        bic = iban.bic if iban is not None else None
        return str(bic.compact) if bic else ""
    try:
        bic = BIC(value)
    except (iban_errors.SchwiftyException, ValueError):
        raise FinanceError(
            _("Deze BIC klopt niet. Een BIC heeft 8 of 11 tekens, bijvoorbeeld ABNANL2A.")
        ) from None
    return str(bic.compact)


def iban_masked(iban: str) -> str:
    """'NL91ABNA0417164300' -> 'NL** **** **** **43 00': enough to recognise, not to use."""
    compact = (iban or "").replace(" ", "")
    if len(compact) <= 4:
        return compact
    masked = compact[:2] + "*" * (len(compact) - 6) + compact[-4:]
    return " ".join(masked[i : i + 4] for i in range(0, len(masked), 4))


def mandate_reference_validate(reference: str) -> str:
    reference = (reference or "").strip()
    if not reference:
        raise FinanceError(_("Vul het kenmerk van de machtiging in."))
    if len(reference) > 35:
        raise FinanceError(_("Het kenmerk van een machtiging is hoogstens 35 tekens lang."))
    if not _REFERENCE_CHARS.fullmatch(reference):
        bad = "".join(sorted({c for c in reference if not _REFERENCE_CHARS.fullmatch(c)}))
        raise FinanceError(
            _(
                "Het kenmerk bevat tekens die de bank niet accepteert: %(chars)s. Gebruik alleen "
                "letters zonder accent, cijfers, spaties en : ? / + ( ) , . -"
            )
            % {"chars": " ".join(bad)}
        )
    if reference.startswith("/") or reference.endswith("/") or "//" in reference:
        raise FinanceError(
            _("Een kenmerk mag niet met een / beginnen of eindigen en geen // bevatten.")
        )
    return reference


def creditor_id_check_digits(creditor_id: str) -> str:
    """ISO 7064 MOD 97-10 over national part + country code + '00' (business code skipped)."""
    country, national = creditor_id[:2], creditor_id[7:]
    digits = "".join(str(int(char, 36)) for char in (national + country + "00").upper())
    return f"{98 - int(digits) % 97:02d}"


def creditor_id_errors(creditor_id: str) -> list[str]:
    """What is wrong with an incassant-ID (empty list: it is right).

    Dutch form: NL + 2 check digits + business code (ZZZ) + 8-digit KvK number + 0000.
    """
    value = (creditor_id or "").strip().upper()
    match = _CREDITOR_ID.match(value)
    if not match:
        return [
            _("Het incassant-ID heeft niet de vorm LLccZZZ… (landcode, controlecijfers, code).")
        ]
    errors = []
    if match.group(1) == "NL" and not _CREDITOR_ID_NL.match(value):
        errors.append(
            _("Een Nederlands incassant-ID is NL + 2 cijfers + ZZZ + 8 cijfers KvK-nummer + 0000.")
        )
    expected = creditor_id_check_digits(value)
    if match.group(2) != expected:
        errors.append(
            _("De controlecijfers van het incassant-ID kloppen niet (verwacht %(digits)s).")
            % {"digits": expected}
        )
    return errors


def creditor_id_validate(creditor_id: str) -> str:
    errors = creditor_id_errors(creditor_id)
    if errors:
        raise FinanceError(" ".join(errors))
    return creditor_id.strip().upper()
