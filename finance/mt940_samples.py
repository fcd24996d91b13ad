"""MT940 bank statements written the way ING writes them (structured :86:), for the benchmark,
the demo and the tests; the app itself only reads them (services/statement_mt940.py).

A statement (:20: … :62F:) is one day of the account: the opening balance (:60F:), a :61: line
per booking with the bank's own reference after '//', each followed by its :86: text, and the
closing balance. ING's :86: puts subfields between slashes: /EREF/ the EndToEndId, /CNTP/ the
counterparty (IBAN/BIC/name/city), /REMI/USTD// the remittance text, /PREF/ the PmtInfId of a
direct debit batch booked as one line, /RTRN/ the reason of a returned debit. Lines are cut at 65
characters, also inside a word.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.conf import settings

ING_HEADER = "0000 01INGBNL2AXXXX00001\n0000 01INGBNL2AXXXX00001\n940 00\n"
WIDTH = 65


def mt940_amount(amount: Decimal) -> str:
    """'1234,50': MT940 writes amounts unsigned, with a decimal comma."""
    return f"{abs(amount):.2f}".replace(".", ",")


def mt940_field(tag: str, text: str) -> str:
    """`:86:` (or another tag) with its text cut into lines of 65 characters."""
    lines = [text[i : i + WIDTH] for i in range(0, len(text), WIDTH)] or [""]
    return f":{tag}:" + "\n".join(lines) + "\n"


def ing_details(
    *,
    eref: str = "",
    counterparty: tuple[str, str, str, str] | None = None,
    text: str = "",
    pref: str = "",
    reason: str = "",
    mandate: str = "",
    creditor_id: str = "",
) -> str:
    """An ING :86: text. `counterparty` is (IBAN, BIC, name, city)."""
    parts = []
    if reason:
        parts.append(f"/RTRN/{reason}/")
    if eref:
        parts.append(f"/EREF/{eref}/")
    if pref:
        parts.append(f"/PREF/{pref}/")
    if mandate:
        parts.append(f"/MARF/{mandate}/")
    if creditor_id:
        parts.append(f"/CSID/{creditor_id}/")
    if counterparty:
        parts.append("/CNTP/" + "/".join(counterparty) + "/")
    if text:
        parts.append(f"/REMI/USTD//{text}/")
    return "".join(parts)


def ing_transaction(
    *, day: dt.date, amount: Decimal, bank_ref: str, details: str, code: str = "00100"
) -> str:
    """One :61: line and its :86:; `amount` is signed (negative: money out)."""
    mark = "C" if amount >= 0 else "D"
    kind = "NTRF" if amount >= 0 else "NRTI"
    reference = "EREF" if "/EREF/" in details else "PREF" if "/PREF/" in details else "NONREF"
    return (
        f":61:{day:%y%m%d}{day:%m%d}{mark}{mt940_amount(amount)}{kind}{reference}//{bank_ref}\n"
        f"/TRCD/{code}/\n" + mt940_field("86", details)
    )


def _balance(tag: str, amount: Decimal, day: dt.date) -> str:
    return f":{tag}:{'C' if amount >= 0 else 'D'}{day:%y%m%d}EUR{mt940_amount(amount)}\n"


def ing_statement(
    *,
    statement_id: str,
    transactions: list[str],
    movement: Decimal,
    day: dt.date,
    opening: Decimal = Decimal("0.00"),
    opened_on: dt.date | None = None,
    number: int = 1,
) -> str:
    """One day of the cooperative's own account as ING writes it (without the file header).

    `movement` is the transactions' sum: the closing balance is the opening balance plus it."""
    account = settings.SEPA_CREDITOR_IBAN.replace(" ", "")
    closing = opening + movement
    return (
        f":20:{statement_id}\n:25:{account}EUR\n:28C:{number:05d}\n"
        + _balance("60F", opening, opened_on or day)
        + "".join(transactions)
        + _balance("62F", closing, day)
        + _balance("64", closing, day)
        + f":86:/SUM/{len(transactions)}/\n"
    )


def ing_file(statements: list[str]) -> bytes:
    """An ING MT940 file: its header, the statements, '-XXX' after each."""
    return (ING_HEADER + "".join(s + "-XXX\n" for s in statements)).encode("utf-8")
