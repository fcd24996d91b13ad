"""CAMT.053 bank statements written the way a Dutch bank writes them, for the benchmark and the
demo; the app itself only reads them (services/statement_files.py).

A statement holds entries (Ntry). An entry is one booking on the account: a transfer, bank costs,
or a direct debit batch that the bank books as one amount with a transaction (TxDtls) per debit,
each with its EndToEndId. A returned debit is a debit entry with the original EndToEndId and the
reason in RtrInf/Rsn/Cd.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from xml.sax.saxutils import escape

from django.conf import settings

CREDIT, DEBIT = "CRDT", "DBIT"


def camt_transaction(
    e2e: str, amount: Decimal, name: str, iban: str, text: str, reason: str = ""
) -> str:
    """One TxDtls: who paid (or was paid back), the remittance text, a return reason if any.
    `e2e` "NOTPROVIDED" is what banks write for a transfer without an EndToEndId."""
    return (
        f"<TxDtls><Refs><EndToEndId>{escape(e2e)}</EndToEndId></Refs>"
        f'<AmtDtls><TxAmt><Amt Ccy="EUR">{amount}</Amt></TxAmt></AmtDtls>'
        f"<RltdPties><Dbtr><Nm>{escape(name)}</Nm></Dbtr><DbtrAcct><Id><IBAN>{iban}</IBAN></Id></DbtrAcct>"
        f"</RltdPties><RmtInf><Ustrd>{escape(text)}</Ustrd></RmtInf>"
        + (f"<RtrInf><Rsn><Cd>{reason}</Cd></Rsn></RtrInf>" if reason else "")
        + "</TxDtls>"
    )


def camt_entry(
    ref: str, amount: Decimal, indicator: str, day: dt.date, details: str = "", info: str = ""
) -> str:
    """One booked Ntry of `amount` (positive; `indicator` CRDT or DBIT says which way), with the
    bank's own reference `ref` (AcctSvcrRef) and its transactions in `details`."""
    return (
        f'<Ntry><Amt Ccy="EUR">{amount}</Amt><CdtDbtInd>{indicator}</CdtDbtInd><Sts>BOOK</Sts>'
        f"<BookgDt><Dt>{day}</Dt></BookgDt><ValDt><Dt>{day}</Dt></ValDt><AcctSvcrRef>{ref}</AcctSvcrRef>"
        + (f"<AddtlNtryInf>{escape(info)}</AddtlNtryInf>" if info else "")
        + (f"<NtryDtls>{details}</NtryDtls>" if details else "")
        + "</Ntry>"
    )


def _balance(code: str, amount: Decimal, day: dt.date) -> str:
    return (
        f'<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">{abs(amount)}</Amt>'
        f"<CdtDbtInd>{CREDIT if amount >= 0 else DEBIT}</CdtDbtInd><Dt><Dt>{day}</Dt></Dt></Bal>"
    )


def camt_statement(
    *,
    statement_id: str,
    entries: list[str],
    movement: Decimal,
    day: dt.date,
    opening: Decimal = Decimal("0.00"),
    opened_on: dt.date | None = None,
) -> bytes:
    """A camt.053.001.02 statement of the cooperative's own account (the import takes no other).

    `movement` is the entries' sum (money in minus money out): the closing balance is the opening
    balance plus it, as the import checks. `day` is the closing day, `opened_on` the opening one.
    """
    account = settings.SEPA_CREDITOR_IBAN.replace(" ", "")
    head = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>'
        f"<GrpHdr><MsgId>{escape(statement_id)}</MsgId><CreDtTm>{day}T22:00:00</CreDtTm></GrpHdr>"
        f"<Stmt><Id>{escape(statement_id)}</Id><CreDtTm>{day}T22:00:00</CreDtTm>"
        f"<Acct><Id><IBAN>{account}</IBAN></Id><Ccy>EUR</Ccy></Acct>"
        + _balance("OPBD", opening, opened_on or day)
        + _balance("CLBD", opening + movement, day)
    )
    return (head + "".join(entries) + "</Stmt></BkToCstmrStmt></Document>").encode("utf-8")
