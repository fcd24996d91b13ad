"""Reading MT940 statements (through `mt-940`), with the :86: texts as Dutch banks write them.

The :86: field says who paid and why. Every bank writes it its own way; lines are cut at 65
characters, also inside a word or a reference, so the lines of a structured text are joined
without a space.

- ING (structured): subfields between slashes, '//' ends a field and empty values are kept:
  `/EREF/2026-000529-B3//CNTP/NL20INGB0001234567/INGBNL2A/J. Bakker///REMI/USTD//Contributie/`.
  /CNTP/ is IBAN/BIC/name/city; /REMI/USTD//text/ or /REMI/STRD/CUR/RF…/; /PREF/ the PmtInfId of
  a batch credit; /RTRN/MS03/ on a returned debit; /MARF/ the mandate, /CSID/ the creditor id.
  The :61: line is followed by '/TRCD/…/', and after the closing balance ING writes a :86: of the
  statement itself ('/SUM/…'), which is no transaction and is dropped.
- ABN AMRO: `/TRTP/SEPA OVERBOEKING/IBAN/…/BIC/…/NAME/…/REMI/…/EREF/…`, a return
  `/TRTP/SEPA INCASSO … STORNO/RTRN/MS02/EREF/…/MARF/…/CSID/…/NAME/…`, a structured reference
  `/REMI//CDTRREFTP//CD/SCOR/ISSR/CUR/CDTRREF/RF…`.
- Rabobank: the counterparty's IBAN on the line after :61: (subfield 9, `extra_details` in
  `mt-940`), and :86: `/EREF/…/ORDP//NAME/…/ADDR/…/REMI/…/ISDT/…` (money in) or `/BENM//NAME/…`
  (money out), `/RTRN/…` on a return; or plain text without subfields, kept as the remittance.
"""

from __future__ import annotations

import datetime as dt
import re

import mt940
from django.utils.translation import gettext as _

from coop.lib.money import ZERO, round_money

from ..models import BankStatement
from . import FinanceError
from .statement_files import (
    EntryKeys,
    ParsedStatement,
    StatementLine,
    iban_normalise,
    iban_valid,
)

_TAGS = (
    "TRTP|IBAN|BIC|NAME|REMI|EREF|MARF|CSID|RTRN|ORDP|BENM|ADDR|PREF|KREF|SVCL|ISDT|CNTP|CDTRREF|"
    "CDTRREFTP|CD|ISSR|ULTC|ULTD|ULTB|PURP|IREF|CREF|BUSP|TRCD|RTYP|FX|EXCH|CHGS|OAMT|COAM"
)
_FIELD = re.compile(rf"/({_TAGS})/")
_STRUCTURED = re.compile(rf"^/({_TAGS})/")
_TAG_LINE = re.compile(r"^:([0-9]{2}[A-Z]?):")
_TRAILER = re.compile(r"^-(XXX)?\}?\s*$")
MT940_LINE = 65


def _join(lines: list[str], structured: bool) -> str:
    """The lines of one :86: field as one text: a structured text was cut anywhere, so its lines
    are joined as they are; plain text only where a line is full (cut at 65 characters)."""
    if structured:
        return "".join(lines).strip()
    text = lines[0]
    for previous, line in zip(lines, lines[1:], strict=False):
        text += line if len(previous) >= MT940_LINE else " " + line
    return " ".join(text.split())


def mt940_details(text: str, extra: str = "") -> dict[str, str]:
    """A :86: text (and the :61: supplementary details, `extra`) read into
    name, iban, remittance, eref, marf, csid, rtrn, pref and key_text (the text for the key)."""
    lines = (text or "").replace("\r", "").split("\n")
    structured = bool(_STRUCTURED.match(lines[0].strip()))
    joined = _join(lines, structured)
    found: dict[str, str] = {}
    if structured:
        parts = _FIELD.split(joined)
        for name, value in zip(parts[1::2], parts[2::2], strict=False):
            if name not in found or not found[name]:
                found[name] = value.strip()
    result = {
        key: "" for key in ("name", "iban", "remittance", "eref", "marf", "csid", "rtrn", "pref")
    }
    if not structured:
        result["remittance"] = joined
    else:
        contra = [part.strip() for part in found.get("CNTP", "").split("/")]
        result["name"] = found.get("NAME", "").strip("/ ") or (contra + ["", "", ""])[2]
        result["iban"] = found.get("IBAN", "").strip("/ ") or contra[0]
        result["remittance"] = _remittance(found.get("REMI", "")) or found.get("CDTRREF", "").strip(
            "/ "
        )
        for key in ("eref", "marf", "csid", "pref"):
            result[key] = found.get(key.upper(), "").strip("/ ")
        result["rtrn"] = found.get("RTRN", "").strip("/ ")[:4].upper()
    # Rabobank: the counterparty's account on the line after :61: ('NL20INGB0001234567 NAAM').
    words = (extra or "").split()
    if words and not result["iban"] and iban_valid(words[0].upper()):
        result["iban"] = words[0].upper()
        result["name"] = result["name"] or " ".join(words[1:])
    result["iban"] = "".join(result["iban"].split()).upper()
    if result["eref"].upper() == "NOTPROVIDED":
        result["eref"] = ""
    result["key_text"] = result["remittance"]
    return result


def _remittance(value: str) -> str:
    """ING writes 'USTD//text/' (unstructured) or 'STRD/CUR/RF…/' (a structured reference)."""
    subfields = value.split("/")
    kind = subfields[0].strip().upper()
    if kind == "USTD":
        return "/".join(subfields[1:]).strip("/ ")
    if kind == "STRD":
        return next((part.strip() for part in reversed(subfields) if part.strip()), "")
    return value.strip("/ ")


def _clean(text: str) -> str:
    """Drop what `mt-940` would read into the last transaction: a :86: that follows no :61:
    (ING's '/SUM/' after the closing balance) and the '-XXX' or '-' that ends a statement."""
    kept: list[str] = []
    last_tag, skipping = "", False
    for line in text.split("\n"):
        match = _TAG_LINE.match(line)
        if match:
            tag = match.group(1)
            skipping = tag == "86" and last_tag != "61"
            if tag != "86":
                last_tag = tag
        elif _TRAILER.match(line):
            skipping = False
            continue
        if not skipping:
            kept.append(line)
    return "\n".join(kept)


def _decode(content: bytes) -> str:
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        text = content.decode("cp1252", errors="replace")
    return _clean(text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n"))


def mt940_parse(content: bytes) -> ParsedStatement:
    try:
        statements = mt940.parse_statements(
            _decode(content), options=mt940.Options(unbounded_details=True)
        )
    except Exception as exc:  # the library raises plain exceptions for what it cannot read
        raise FinanceError(
            _("Dit MT940-bestand is onleesbaar: %(error)s") % {"error": exc}
        ) from None
    result = ParsedStatement(format=BankStatement.Format.MT940)
    keys = EntryKeys()
    if not statements:
        raise FinanceError(_("Er staat geen afschrift in dit bestand."))
    for statement in statements:
        data = statement.data
        opening = data.get("final_opening_balance") or data.get("intermediate_opening_balance")
        closing = data.get("final_closing_balance") or data.get("intermediate_closing_balance")
        if closing is None or opening is None:
            raise FinanceError(
                _(
                    "Dit MT940-afschrift is niet compleet: het begin- of eindsaldo ontbreekt. "
                    "Download het opnieuw bij de bank."
                )
            )
        identification = str(data.get("account_identification", ""))
        result.accounts.append(identification)
        account = iban_normalise(identification)
        result.account_iban = result.account_iban or account
        result.statement_id = (
            result.statement_id or str(data.get("transaction_reference", ""))[:100]
        )
        total = ZERO
        for transaction_ in statement:
            line = _line(transaction_.data, account, keys)
            total += line.amount
            result.lines.append(line)
        if round_money(opening.amount.amount) + total != round_money(closing.amount.amount):
            raise FinanceError(
                _(
                    "De saldi van dit MT940-afschrift kloppen niet met de regels. Het bestand is "
                    "misschien niet compleet; download het opnieuw bij de bank."
                )
            )
    return result


def _line(tx: dict, account: str, keys: EntryKeys) -> StatementLine:
    amount = round_money(tx["amount"].amount)
    details = mt940_details(tx.get("transaction_details") or "", tx.get("extra_details") or "")
    booked = tx.get("entry_date") or tx["date"]  # the booking date; `date` is the value date
    line = StatementLine(
        entry_key="",
        booking_date=dt.date(booked.year, booked.month, booked.day),
        amount=amount,
        counterparty_name=details["name"][:140],
        counterparty_iban=details["iban"][:34],
        remittance=details["remittance"][:500],
        end_to_end_id=details["eref"][:35],
        mandate_reference=details["marf"][:35],
        return_reason=details["rtrn"],
        currency=tx.get("currency") or "EUR",
    )
    if not line.end_to_end_id and details["pref"]:
        line.batch_reference = details["pref"][:35]
    bank_ref = (tx.get("bank_reference") or "").strip()
    line.entry_key = keys.key(
        iban=account,
        booking_date=line.booking_date,
        amount=amount,
        ref="" if bank_ref.upper() == "NONREF" else bank_ref,
        end_to_end_id=line.end_to_end_id,
        counterparty_iban=line.counterparty_iban,
        text=details["key_text"],
    )
    return line
