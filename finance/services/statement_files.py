"""Reading bank statement files: CAMT.053 (streamed, safely) and MT940 (through `mt-940`).

- XML is read with lxml with entity resolution, DTD loading, network access and huge trees all
  off, and any DTD is refused before parsing (bank files never have one), so external entities
  and entity-expansion bombs are never expanded. Entries are dropped once read, so a
  30,000-line statement stays small in memory.
- A file cut short, in another format, or whose balances do not add up (opening balance plus the
  booked entries must give the closing balance) raises FinanceError.
- Limits, checked before the expensive part: at most MAX_FILE_BYTES (a year of a big
  cooperative's statements, 30,000 lines, is about 11 MB of CAMT.053), MAX_LINES lines and
  MAX_STATEMENTS statements. Entries and statements are counted with a quick scan first, and the
  lines again while reading (a batch entry may hold many lines). An entry is held in memory
  whole while it is read, and lxml needs about 130 bytes per element: a CAMT file must have at
  least MIN_BYTES_PER_ELEMENT bytes per element (real ones have 20 to 30), so a file of tiny
  empty elements cannot make one entry take a gigabyte.
- Every line gets an `entry_key` that is the same in every file it appears in, CAMT.053 or MT940
  (see EntryKeys): the account's bare IBAN, the booking date, the signed amount and the bank's own
  reference (CAMT AcctSvcrRef, else NtryRef; MT940 the :61: reference after '//'), plus the
  transaction's reference inside a CAMT batch entry. Without a bank reference: a hash of those and
  the EndToEndId, or else the counterparty's IBAN and the remittance text without any whitespace,
  numbered among identical lines of the file. A key repeated within one file is kept apart (#2 …).
- MT940 is read in statement_mt940.py (the :86: texts of ING, Rabobank and ABN AMRO).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from io import BytesIO
from typing import Any

import mt940  # noqa: F401  (read in statement_mt940.py; tests patch it through here)
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from lxml import etree

from coop.lib.money import ZERO, format_money, parse_money, round_money

from ..models import BankStatement
from . import FinanceError

MAX_FILE_BYTES = 25 * 1024 * 1024
MAX_LINES = 50_000
MAX_STATEMENTS = 1_000  # almost three years of daily statements
MIN_BYTES_PER_ELEMENT = 12
CAMT053_NAMESPACE = "urn:iso:std:iso:20022:tech:xsd:camt.053."


@dataclass
class StatementLine:
    entry_key: str
    booking_date: dt.date
    amount: Decimal  # positive: money in
    counterparty_name: str = ""
    counterparty_iban: str = ""
    remittance: str = ""
    end_to_end_id: str = ""
    mandate_reference: str = ""
    return_reason: str = ""
    batch_reference: str = ""  # PmtInfId / MsgId of a batch booked as one line
    currency: str = "EUR"


@dataclass
class ParsedStatement:
    format: str
    statement_id: str = ""
    account_iban: str = ""
    accounts: list[str] = field(default_factory=list)  # each statement's account, as written
    lines: list[StatementLine] = field(default_factory=list)
    not_booked: int = 0  # pending or information-only entries, left for a later statement


def _key(value: str) -> str:
    return value if len(value) <= 200 else "h:" + hashlib.sha256(value.encode()).hexdigest()


def _hashed_key(account: str, parts: list[str], seen: Counter) -> str:
    digest = hashlib.sha256("|".join(parts).encode()).hexdigest()[:40]
    seen[digest] += 1
    return f"{account}:h:{digest}:{seen[digest]}"


_IBAN_SHAPE = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{10,30}")
_CURRENCY_SUFFIX = re.compile(r"(?<=[0-9])[A-Z]{3}$")


def iban_valid(iban: str) -> bool:
    """Whether `iban` (compact, upper case) has an IBAN's shape and check digits."""
    if not _IBAN_SHAPE.fullmatch(iban):
        return False
    return int("".join(str(int(c, 36)) for c in iban[4:] + iban[:4])) % 97 == 1


def iban_normalise(identification: str) -> str:
    """The bare IBAN of an account as a statement writes it: 'NL91 ABNA 0417 1643 00',
    'NL91ABNA0417164300EUR' (MT940, with the currency) or 'ABNANL2A/NL91ABNA0417164300' (with the
    BIC) all give 'NL91ABNA0417164300'. Something that is no IBAN is returned compact."""
    compact = re.sub(r"\s", "", identification or "").upper()
    parts = [part for part in compact.split("/") if part]
    for part in parts:
        if iban_valid(part):
            return part
        if _CURRENCY_SUFFIX.search(part) and iban_valid(part[:-3]):
            return part[:-3]
    account = next((part for part in parts if _IBAN_SHAPE.match(part)), parts[-1] if parts else "")
    return _CURRENCY_SUFFIX.sub("", account)[:34]


def compact_text(text: str) -> str:
    """Text without any whitespace, upper case: MT940 cuts :86: lines at 65 characters, so
    spacing differs between the formats of the same transaction."""
    return "".join((text or "").split()).upper()


class EntryKeys:
    """The entry_key of each line of one file (see the module docstring)."""

    def __init__(self) -> None:
        self.seen_hashes: Counter = Counter()

    def key(
        self,
        *,
        iban: str,
        booking_date: dt.date,
        amount: Decimal,
        ref: str = "",
        tx_ref: str = "",
        end_to_end_id: str = "",
        counterparty_iban: str = "",
        text: str = "",
    ) -> str:
        base = f"{iban}:{booking_date:%Y-%m-%d}:{round_money(amount)}"
        ref = ref.strip()
        if ref:
            return _key(f"{base}:{ref}" + (f":{tx_ref}" if tx_ref else ""))
        if end_to_end_id:
            parts = [base, "e2e", end_to_end_id]
        else:
            parts = [base, compact_text(counterparty_iban), compact_text(text)]
        return _hashed_key(iban, parts, self.seen_hashes)


def _amount(text: str | None) -> Decimal:
    # parse_money, not Decimal(): that also reads 'NaN', which no comparison survives.
    try:
        return parse_money(text or "")
    except ValueError:
        raise FinanceError(
            _("Een bedrag in het bestand is onleesbaar: %(v)s") % {"v": text}
        ) from None


def _date(text: str | None) -> dt.date:
    try:
        return dt.date.fromisoformat((text or "")[:10])
    except ValueError:
        raise FinanceError(
            _("Een datum in het bestand is onleesbaar: %(v)s") % {"v": text}
        ) from None


def too_large_error() -> FinanceError:
    return FinanceError(
        _(
            "Dit bestand is te groot (meer dan %(mb)s MB). Download bij de bank een afschrift "
            "over een kortere periode."
        )
        % {"mb": MAX_FILE_BYTES // (1024 * 1024)}
    )


def _too_many_lines() -> FinanceError:
    return FinanceError(
        _(
            "Dit afschrift heeft meer dan %(max)s regels. Download bij de bank een afschrift "
            "over een kortere periode."
        )
        % {"max": number_format(MAX_LINES, force_grouping=True)}
    )


def _count_up_to(pattern: re.Pattern, content: bytes, limit: int) -> int:
    """How often `pattern` occurs, counting no further than limit + 1."""
    count = 0
    for count, _match in enumerate(pattern.finditer(content), 1):
        if count > limit:
            break
    return count


def _check_counts(content: bytes, entry: re.Pattern, statement: re.Pattern) -> None:
    if _count_up_to(entry, content, MAX_LINES) > MAX_LINES:
        raise _too_many_lines()
    if _count_up_to(statement, content, MAX_STATEMENTS) > MAX_STATEMENTS:
        raise FinanceError(
            _(
                "Dit bestand bevat meer dan %(max)s afschriften. Download bij de bank een "
                "afschrift over een kortere periode."
            )
            % {"max": number_format(MAX_STATEMENTS, force_grouping=True)}
        )


def _check_camt_density(content: bytes) -> None:
    elements = content.count(b"<") - content.count(b"</")
    if elements * MIN_BYTES_PER_ELEMENT > len(content):
        raise FinanceError(
            _(
                "Dit bestand bevat veel meer XML-elementen dan een bankafschrift kan hebben. Uit "
                "veiligheid lezen wij het niet in. Download het afschrift opnieuw bij de bank."
            )
        )


def statement_detect_format(content: bytes) -> str:
    head = content[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<"):
        return BankStatement.Format.CAMT053
    text = head.decode("latin-1")
    if re.search(r"^:20:", text, re.M) and re.search(r"^:(25|28C|60F|60M):", text, re.M):
        return BankStatement.Format.MT940
    if head.startswith(b"{1:") and b":20:" in content[:8192]:
        return BankStatement.Format.MT940
    raise FinanceError(
        _(
            "Dit bestand is geen bankafschrift dat wij kunnen lezen. Download bij uw bank het "
            "afschrift als CAMT.053 (XML) of MT940."
        )
    )


_DTD = re.compile(rb"<!DOCTYPE|<!ENTITY", re.IGNORECASE)
_FIRST_ELEMENT = re.compile(rb"<[A-Za-z_]")
_CAMT_ENTRY = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?Ntry[\s>]")
_CAMT_STATEMENT = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?Stmt[\s>]")
_MT940_ENTRY = re.compile(rb"^:61:", re.M)
_MT940_STATEMENT = re.compile(rb"^:20:", re.M)
_CAMT_REFUSED = gettext_lazy(
    "Dit bestand bevat XML-onderdelen die een bankafschrift nooit heeft (een DTD of entiteiten). "
    "Uit veiligheid lezen wij het niet in. Download het afschrift opnieuw bij de bank."
)


def _xml_events(content: bytes, **kwargs):
    """lxml's iterparse with everything dangerous off: no DTD loading, no entity expansion, no
    network, no huge trees."""
    return etree.iterparse(
        BytesIO(content),
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
        **kwargs,
    )


def _flatten(element, ns_len: int, skip: str = "") -> dict[str, Any]:
    """{'Refs/EndToEndId': '…', 'RmtInf/Ustrd': ['…', '…'], …}: every text below `element` by
    its path, in one pass (30,000 path searches per statement are what made reading slow)."""
    found: dict[str, Any] = {}

    def walk(node, prefix: str) -> None:
        for child in node:
            tag = child.tag
            if not isinstance(tag, str):
                continue
            name = tag[ns_len:]
            if name == skip and not prefix:
                continue
            path = f"{prefix}{name}"
            text = child.text
            if len(child):
                walk(child, path + "/")
            elif text is not None and text.strip():
                value = text.strip()
                if name in ("Ustrd", "Ref"):
                    found.setdefault(path, []).append(value)
                else:
                    found.setdefault(path, value)
                if name == "Amt":
                    found.setdefault(path + "@Ccy", child.get("Ccy", "EUR"))

    walk(element, "")
    return found


def _first(fields: dict, *paths: str) -> str:
    for path in paths:
        value = fields.get(path)
        if value:
            return value if isinstance(value, str) else " ".join(value)
    return ""


class _Camt:
    """Streaming CAMT.053 reader: one Ntry at a time, dropped after reading."""

    def __init__(self, content: bytes):
        self.content = content
        self.result = ParsedStatement(format=BankStatement.Format.CAMT053)
        self.keys = EntryKeys()

    def _namespace(self) -> str:
        """The root's namespace, read before anything else; refuses any DTD first."""
        first = _FIRST_ELEMENT.search(self.content)
        if _DTD.search(self.content[: first.start() if first else len(self.content)]):
            raise FinanceError(str(_CAMT_REFUSED))
        for _event, element in _xml_events(self.content, events=("start",)):
            if element.getroottree().docinfo.doctype:
                raise FinanceError(str(_CAMT_REFUSED))
            namespace = etree.QName(element).namespace or ""
            if not namespace.startswith(CAMT053_NAMESPACE):
                raise FinanceError(
                    _(
                        "Dit XML-bestand is geen CAMT.053-bankafschrift (gevonden: %(ns)s). "
                        "Download bij uw bank het dagafschrift als CAMT.053."
                    )
                    % {"ns": namespace or etree.QName(element).localname}
                )
            return namespace
        raise FinanceError(_("Er staat geen afschrift in dit bestand."))

    def parse(self) -> ParsedStatement:
        try:
            ns = self._namespace()
            self._read(ns)
        except etree.XMLSyntaxError as exc:
            if "entity" in str(exc).lower():
                raise FinanceError(str(_CAMT_REFUSED)) from None
            raise FinanceError(
                _(
                    "Dit bestand is geen geldig of geen compleet XML-bestand (%(error)s). "
                    "Misschien is het niet helemaal gedownload; probeer het opnieuw."
                )
                % {"error": exc.msg}
            ) from None
        return self.result

    def _read(self, ns: str) -> None:
        q = f"{{{ns}}}"
        ns_len = len(q)
        tags = [q + "Stmt", q + "Acct", q + "Bal", q + "Ntry"]
        statements = 0
        account = ""
        balances: dict[str, Decimal] = {}
        booked_sum = ZERO
        for event, element in _xml_events(self.content, events=("start", "end"), tag=tags):
            name = element.tag[ns_len:]
            if event == "start":
                if name == "Stmt":
                    statements += 1
                    account, balances, booked_sum = "", {}, ZERO
                continue
            parent = element.getparent()
            parent_name = parent.tag[ns_len:] if parent is not None else ""
            if name == "Acct" and parent_name == "Stmt":
                if not self.result.statement_id:
                    self.result.statement_id = (parent.findtext(q + "Id") or "").strip()[:100]
                fields = _flatten(element, ns_len)
                account = _first(fields, "Id/IBAN", "Id/Othr/Id")
                self.result.account_iban = self.result.account_iban or iban_normalise(account)
            elif name == "Bal" and parent_name == "Stmt":
                fields = _flatten(element, ns_len)
                amount = _amount(_first(fields, "Amt"))
                if _first(fields, "CdtDbtInd") == "DBIT":
                    amount = -amount
                balances.setdefault(_first(fields, "Tp/CdOrPrtry/Cd"), amount)
                element.clear()
            elif name == "Ntry" and parent_name == "Stmt":
                booked_sum += self.entry(element, iban_normalise(account), ns_len, q)
                if len(self.result.lines) + self.result.not_booked > MAX_LINES:
                    raise _too_many_lines()
                element.clear()
                while element.getprevious() is not None:
                    del parent[0]
            elif name == "Stmt":
                self._check_balances(balances, booked_sum)
                self.result.accounts.append(account)
                account = ""
                element.clear()
        if not statements:
            raise FinanceError(_("Er staat geen afschrift in dit bestand."))

    def _check_balances(self, balances: dict[str, Decimal], booked_sum: Decimal) -> None:
        opening = balances.get("OPBD", balances.get("PRCD"))
        closing = balances.get("CLBD")
        if opening is not None and closing is not None and opening + booked_sum != closing:
            raise FinanceError(
                _(
                    "De saldi van dit afschrift kloppen niet met de regels (begin %(open)s, eind "
                    "%(close)s, regels samen %(sum)s). Het bestand is misschien niet compleet; "
                    "download het opnieuw bij de bank."
                )
                % {
                    "open": format_money(opening),
                    "close": format_money(closing),
                    "sum": format_money(booked_sum),
                }
            )

    def entry(self, ntry, account: str, ns_len: int, q: str) -> Decimal:
        """Read one Ntry into lines; returns its signed amount if booked (for the balances)."""
        fields = _flatten(ntry, ns_len, skip="NtryDtls")
        status = _first(fields, "Sts/Cd", "Sts")
        amount = _amount(_first(fields, "Amt"))
        currency = _first(fields, "Amt@Ccy") or "EUR"
        sign = -1 if _first(fields, "CdtDbtInd") == "DBIT" else 1
        if status and status != "BOOK":
            self.result.not_booked += 1
            return ZERO
        booking_date = _date(_first(fields, "BookgDt/Dt", "BookgDt/DtTm", "ValDt/Dt", "ValDt/DtTm"))
        entry_ref = _first(fields, "AcctSvcrRef", "NtryRef")
        entry_text = _first(fields, "AddtlNtryInf")
        details_el = ntry.find(q + "NtryDtls")
        details: list[dict] = []
        batch_ref = ""
        if details_el is not None:
            for child in details_el:
                if not isinstance(child.tag, str):
                    continue
                if child.tag[ns_len:] == "TxDtls":
                    details.append(_flatten(child, ns_len))
                elif child.tag[ns_len:] == "Btch":
                    batch = _flatten(child, ns_len)
                    batch_ref = _first(batch, "PmtInfId", "MsgId")
        tx_amounts = [a for a in (self.tx_amount(tx, sign) for tx in details) if a is not None]
        split = (
            len(details) > 1
            and len(tx_amounts) == len(details)
            and sum(tx_amounts, ZERO) == sign * amount
        )
        if split:
            for index, (tx, tx_amount) in enumerate(zip(details, tx_amounts, strict=True)):
                line = self.line(tx, tx_amount, booking_date, currency, entry_text)
                tx_ref = _first(tx, "Refs/AcctSvcrRef") or line.end_to_end_id or f"#{index}"
                line.entry_key = self.entry_key(account, entry_ref, tx_ref, line, tx, entry_text)
                self.result.lines.append(line)
        else:
            single = details[0] if len(details) == 1 else None
            line = self.line(single, sign * amount, booking_date, currency, entry_text)
            if len(details) > 1:
                # Details that do not add up to the entry: keep it as one line for the treasurer.
                line.end_to_end_id = line.mandate_reference = line.return_reason = ""
            if not line.end_to_end_id and batch_ref:
                line.batch_reference = batch_ref[:35]
            line.entry_key = self.entry_key(account, entry_ref, "", line, single, entry_text)
            self.result.lines.append(line)
        return sign * amount

    @staticmethod
    def tx_amount(tx: dict, sign: int) -> Decimal | None:
        text = _first(tx, "AmtDtls/TxAmt/Amt", "Amt", "AmtDtls/InstdAmt/Amt")
        if not text:
            return None
        own = _first(tx, "CdtDbtInd")
        return _amount(text) * (-1 if own == "DBIT" else 1 if own == "CRDT" else sign)

    @staticmethod
    def line(tx: dict | None, amount: Decimal, booking_date, currency: str, entry_text: str):
        line = StatementLine(
            entry_key="", booking_date=booking_date, amount=amount, currency=currency
        )
        if tx is None:
            line.remittance = entry_text[:500]
            return line
        e2e = _first(tx, "Refs/EndToEndId")
        line.end_to_end_id = "" if e2e.upper() == "NOTPROVIDED" else e2e[:35]
        line.mandate_reference = _first(tx, "Refs/MndtId")[:35]
        party, other = ("Dbtr", "Cdtr") if amount > 0 else ("Cdtr", "Dbtr")
        line.counterparty_name = _first(
            tx, f"RltdPties/{party}/Nm", f"RltdPties/{party}/Pty/Nm", f"RltdPties/{other}/Nm"
        )[:140]
        line.counterparty_iban = _first(
            tx, f"RltdPties/{party}Acct/Id/IBAN", f"RltdPties/{other}Acct/Id/IBAN"
        )[:34]
        texts = list(tx.get("RmtInf/Ustrd", [])) + list(tx.get("RmtInf/Strd/CdtrRefInf/Ref", []))
        texts.append(_first(tx, "AddtlTxInf") or entry_text)
        line.remittance = " ".join(t for t in texts if t)[:500]
        line.return_reason = _first(tx, "RtrInf/Rsn/Cd", "RtrInf/Rsn/Prtry")[:4].upper()
        return line

    def entry_key(
        self,
        account: str,
        entry_ref: str,
        tx_ref: str,
        line: StatementLine,
        tx: dict | None,
        entry_text: str,
    ) -> str:
        if tx is None:
            text = entry_text
        else:
            texts = list(tx.get("RmtInf/Ustrd", [])) + list(
                tx.get("RmtInf/Strd/CdtrRefInf/Ref", [])
            )
            text = " ".join(texts) or _first(tx, "AddtlTxInf") or entry_text
        return self.keys.key(
            iban=account,
            booking_date=line.booking_date,
            amount=line.amount,
            ref=entry_ref,
            tx_ref=tx_ref if entry_ref else "",
            end_to_end_id=line.end_to_end_id,
            counterparty_iban=line.counterparty_iban,
            text=text,
        )


def statement_parse(content: bytes) -> ParsedStatement:
    """Read a whole statement file, or raise FinanceError; books nothing."""
    if not content or content.isspace():
        raise FinanceError(_("Het bestand is leeg."))
    if len(content) > MAX_FILE_BYTES:
        raise too_large_error()
    if statement_detect_format(content) == BankStatement.Format.CAMT053:
        _check_camt_density(content)
        _check_counts(content, _CAMT_ENTRY, _CAMT_STATEMENT)
        parsed = _Camt(content).parse()
    else:
        from .statement_mt940 import mt940_parse

        _check_counts(content, _MT940_ENTRY, _MT940_STATEMENT)
        parsed = mt940_parse(content)
    keys = Counter(line.entry_key for line in parsed.lines)
    for line in parsed.lines:
        if keys[line.entry_key] > 1:  # the bank repeated a reference: keep the lines apart
            keys[line.entry_key] -= 1
            line.entry_key = _key(f"{line.entry_key}#{keys[line.entry_key] + 1}")
    return parsed
