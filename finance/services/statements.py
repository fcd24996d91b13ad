"""Bank statements: CAMT.053 (MT940 as a fallback) read safely and matched to invoices.

Rules, in one place:

- Format: XML whose root is a camt.053 document, or MT940 text (":20:" … ":62F:"), read by
  statement_files.py (safely: no DTD, no entities). Anything else, a file cut short, or a
  statement whose balances do not add up is refused with a clear message and nothing is booked:
  a file is read completely before anything is booked, and booked in one transaction.
- Our account only: every statement in the file must be of the cooperative's own account
  (SEPA_CREDITOR_IBAN); another account's lines would otherwise be matched to our invoices.
- Reading happens before the transaction opens: parsing a large file never holds the database's
  write lock (on SQLite other users' logins would fail with "database is locked").
- Once: the same file (by SHA-256) is imported once. Every line has an `entry_key` that is unique
  in the database, so overlapping statements book each line once. Imports run one at a time (an
  advisory lock on PostgreSQL); the unique constraints are the backstop.
- Matching, in this order:
  1. Direct debits: a credit whose EndToEndId is one of our debits books the payment (source
     sepa, external id = EndToEndId, so marking the batch collected by hand books nothing twice)
     and marks the debit collected. A batch booked as one line without details (its PmtInfId or
     MsgId is our batch's message id, also read from MT940's /PREF/) collects every pending debit
     of the batch when the amounts agree; without a reference, a credit that is exactly the
     pending total of one exported batch, booked from a day before to ten days after its
     collection date, is taken as that batch. An exported batch with nothing pending any more is
     collected.
  2. Returned debits (R-transactions: a debit line with our EndToEndId, usually with a reason in
     RtrInf/Rsn/Cd): a negative reversal linked to the payment, the debit marked returned with its
     reason, the invoice reopened by the ledger, and a message to the member with the reason in
     plain Dutch and a link to pay online (queued by a task once the import has committed). For reasons that mean the account cannot be used again
     (closed, blocked, no mandate, deceased) the mandate is revoked. What happens next to the
     invoice depends on the reason (returns.py).
  3. Transfers: a credit whose remittance text names exactly one of our open invoice numbers
     ("2026-000123") books a payment (source transfer), as long as the invoice still has a balance.
  4. Everything else waits in the unmatched queue for the treasurer.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Sum
from django.utils.translation import gettext as _

from coop.accounts.models import User
from coop.lib.money import ZERO, round_money
from coop.lib.tasks import task_enqueue

from ..models import (
    BankStatement,
    BankTransaction,
    CollectionBatch,
    CollectionItem,
    Invoice,
    LedgerEntry,
    Mandate,
)
from . import FinanceError
from .batch_care import batches_close_when_done
from .collections import Collected, debit_booking, debits_book_collected
from .ledger import (
    Booking,
    booked_on_invoice,
    bulk_work_begin,
    chunks,
    ledger_book_many,
)
from .mandates import mandate_revoke
from .returns import REVOKE_MANDATE_REASONS, return_reason_text
from .returns import collection_returns_notify as collection_returns_notify
from .statement_files import ParsedStatement, StatementLine, statement_parse

# A batch total without reference is looked for from this many days before its collection date
# (a bank may book it the evening before) to this many after (weekends, holidays, a slow bank).
BATCH_DAYS_BEFORE = 1
BATCH_DAYS_AFTER = 10
_IMPORT_LOCK_KEY = 735_053_940  # pg_advisory_xact_lock key: one statement import at a time
_INVOICE_NUMBER = re.compile(r"(?<![0-9])(20[0-9]{2})\s*[-/.]?\s*([0-9]{6})(?![0-9])")

# Importing and matching --------------------------------------------------------------------------


@dataclass
class ImportResult:
    statement: BankStatement
    debits: int = 0
    transfers: int = 0
    returns: int = 0
    unmatched: int = 0
    already_imported: int = 0
    not_booked: int = 0

    @property
    def lines(self) -> int:
        return self.debits + self.transfers + self.returns + self.unmatched


def _invoice_numbers(text: str) -> set[str]:
    return {f"{year}-{number}" for year, number in _INVOICE_NUMBER.findall(text or "")}


def _open_invoices_by_number(numbers: set[str]) -> dict[str, tuple[Invoice, Decimal]]:
    booked = booked_on_invoice()
    found: dict[str, tuple[Invoice, Decimal]] = {}
    for chunk in chunks(sorted(numbers)):
        invoices = Invoice.objects.filter(number__in=chunk).order_by().annotate(booked=booked)
        for invoice in invoices:
            found[invoice.number] = (invoice, round_money(invoice.total - invoice.booked))
    return found


def _lock_imports() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_IMPORT_LOCK_KEY])


def _iban_grouped(iban: str) -> str:
    return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))


def account_is_own(identification: str, own_iban: str) -> bool:
    """Whether a statement's account identification names our IBAN, as banks write it:
    'NL91ABNA0417164300', 'NL91 ABNA 0417 1643 00', 'NL91ABNA0417164300EUR' (MT940, with the
    currency) or 'ABNANL2A/NL91ABNA0417164300' (with the BIC)."""
    own = re.sub(r"\s", "", own_iban or "").upper()
    if not own:
        return False
    for part in re.sub(r"\s", "", identification or "").upper().split("/"):
        if part == own or (part.startswith(own) and re.fullmatch(r"[A-Z]{3}", part[len(own) :])):
            return True
    return False


def statement_read(content: bytes) -> ParsedStatement:
    """Read a whole statement file and check it is of our own account; raises FinanceError.

    Call it outside any transaction: see the module docstring."""
    parsed = statement_parse(content)
    own = settings.SEPA_CREDITOR_IBAN
    for account in parsed.accounts:
        if account_is_own(account, own):
            continue
        if not account.strip():
            raise FinanceError(
                _(
                    "In dit afschrift staat niet van welke rekening het is. Er is niets "
                    "ingelezen. Download het afschrift opnieuw bij de bank."
                )
            )
        raise FinanceError(
            _(
                "Dit afschrift is van rekening %(account)s, niet van de rekening van de "
                "coöperatie (%(own)s). Er is niets ingelezen."
            )
            % {
                "account": account.strip()[:40],
                "own": _iban_grouped(re.sub(r"\s", "", own).upper()),
            }
        )
    return parsed


def statement_import(*, file_name: str, content: bytes, by: User | None) -> ImportResult:
    """Read, match and book a statement file, all or nothing. See the module docstring.

    The file is read and checked first, outside the transaction; then matched and booked in one.
    Members whose debit came back are told by a task queued when the import commits."""
    parsed = statement_read(content)
    return statement_book(file_name=file_name, content=content, parsed=parsed, by=by)


@transaction.atomic
def statement_book(
    *, file_name: str, content: bytes, parsed: ParsedStatement, by: User | None
) -> ImportResult:
    """Match and book a statement that statement_read has read and checked."""
    bulk_work_begin()
    file_hash = hashlib.sha256(content).hexdigest()
    _lock_imports()
    earlier = BankStatement.objects.filter(file_hash=file_hash).first()
    if earlier is not None:
        raise FinanceError(
            _(
                "Dit bestand is al eerder ingelezen (%(name)s, op %(date)s). "
                "Er is niets opnieuw geboekt."
            )
            % {"name": earlier.file_name, "date": earlier.imported_at.strftime("%d-%m-%Y")}
        )
    try:
        with transaction.atomic():
            statement = BankStatement.objects.create(
                file_name=(file_name or "afschrift")[:200],
                file_hash=file_hash,
                format=parsed.format,
                statement_id=parsed.statement_id,
                account_iban=parsed.account_iban,
                imported_by=by,
            )
    except IntegrityError:
        raise FinanceError(
            _("Dit bestand is al eerder ingelezen. Er is niets opnieuw geboekt.")
        ) from None
    result = ImportResult(statement=statement, not_booked=parsed.not_booked)
    lines = parsed.lines
    known: set[str] = set()
    for chunk in chunks([line.entry_key for line in lines]):
        known.update(
            BankTransaction.objects.filter(entry_key__in=chunk).values_list("entry_key", flat=True)
        )
    new_lines = [line for line in lines if line.entry_key not in known]
    result.already_imported = len(lines) - len(new_lines)
    _Matcher(statement, new_lines, result, by).run()
    return result


class _Matcher:
    """Decides what every new line is, then books it all in bulk."""

    def __init__(
        self, statement: BankStatement, lines: list[StatementLine], result: ImportResult, by
    ):
        self.statement = statement
        self.lines = lines
        self.result = result
        self.by = by
        self.rows: list[BankTransaction] = []
        self.transfers: list[Booking] = []
        self.debits: list[Collected] = []
        # Debits booked only so that their return has something to reverse (no receipt).
        self.returned_unseen: list[Collected] = []
        self.returns: list[tuple[StatementLine, _Debit]] = []
        self.batch_ids: set[int] = set()
        self.open_batches: dict[int, tuple[Decimal, dt.date]] = {}

    def run(self) -> None:
        e2e_ids = {line.end_to_end_id for line in self.lines if line.end_to_end_id}
        items: dict[str, _Debit] = {}
        for chunk in chunks(sorted(e2e_ids)):
            for debit in _debits(CollectionItem.objects.filter(end_to_end_id__in=chunk)):
                items[debit.end_to_end_id] = debit
        batch_refs = {line.batch_reference for line in self.lines if line.batch_reference}
        batches = {
            b.message_id: b for b in CollectionBatch.objects.filter(message_id__in=batch_refs)
        }
        self.open_batches = _open_batch_totals()
        transfer_lines = [
            line
            for line in self.lines
            if line.amount > 0 and line.end_to_end_id not in items and not line.batch_reference
        ]
        numbers: set[str] = set()
        for line in transfer_lines:
            numbers |= _invoice_numbers(line.remittance)
        invoices = _open_invoices_by_number(numbers) if numbers else {}
        balances = {number: balance for number, (_invoice, balance) in invoices.items()}

        for line in self.lines:
            row = self._row(line)
            item = items.get(line.end_to_end_id) if line.end_to_end_id else None
            if line.currency != "EUR":
                row.note = _("Bedrag in %(ccy)s: met de hand afhandelen.") % {"ccy": line.currency}
            elif item is not None and line.amount > 0:
                self._debit(line, row, item)
            elif item is not None and line.amount < 0:
                self._return(line, row, item)
            elif line.batch_reference and line.amount > 0 and line.batch_reference in batches:
                self._batch_total(line, row, batches[line.batch_reference])
            elif line.amount > 0:
                self._transfer(line, row, invoices, balances)
                if (
                    row.status == BankTransaction.Status.UNMATCHED
                    and not line.end_to_end_id
                    and not _invoice_numbers(line.remittance)
                ):
                    self._batch_by_amount(line, row)
            else:
                row.note = _("Afschrijving: geen incasso van ons.") if line.return_reason else ""
            if row.status == BankTransaction.Status.UNMATCHED:
                self.result.unmatched += 1
            self.rows.append(row)
        self._book()

    def _row(self, line: StatementLine) -> BankTransaction:
        return BankTransaction(
            statement=self.statement,
            entry_key=line.entry_key,
            booking_date=line.booking_date,
            amount=line.amount,
            counterparty_name=line.counterparty_name,
            counterparty_iban=line.counterparty_iban,
            remittance=line.remittance,
            end_to_end_id=line.end_to_end_id,
            mandate_reference=line.mandate_reference,
            return_reason=line.return_reason,
            status=BankTransaction.Status.UNMATCHED,
        )

    def _debit(self, line: StatementLine, row: BankTransaction, item: _Debit) -> None:
        self.batch_ids.add(item.batch_id)
        self.debits.append(item.collected(amount=line.amount, booked_on=line.booking_date))
        row.status, row.invoice_id = BankTransaction.Status.MATCHED, item.invoice_id
        row.note = _("Incasso van factuur %(number)s") % {"number": item.invoice_number}
        self.result.debits += 1

    def _return(self, line: StatementLine, row: BankTransaction, item: _Debit) -> None:
        # A return may come before the payment is known (or without it): book the payment first so
        # the reversal always has something to reverse and the balance ends right.
        self.batch_ids.add(item.batch_id)
        self.returned_unseen.append(
            item.collected(amount=item.amount, booked_on=item.collection_date)
        )
        self.returns.append((line, item))
        row.status, row.invoice_id = BankTransaction.Status.MATCHED, item.invoice_id
        row.note = _("Storno van factuur %(number)s: %(reason)s") % {
            "number": item.invoice_number,
            "reason": return_reason_text(line.return_reason),
        }
        self.result.returns += 1

    def _batch_total(
        self, line: StatementLine, row: BankTransaction, batch: CollectionBatch
    ) -> None:
        pending = _debits(batch.items.filter(status=CollectionItem.Status.PENDING))
        if batch.pk in self.batch_ids:
            pending = []  # this statement collected it already: a second line is not the batch
        if batch.status == CollectionBatch.Status.DRAFT or not pending:
            row.note = _("Incassobatch %(batch)s: niets meer open.") % {"batch": batch.message_id}
            return
        if sum((item.amount for item in pending), ZERO) != line.amount:
            row.note = _(
                "Incassobatch %(batch)s: het bedrag wijkt af van de openstaande incasso's."
            ) % {"batch": batch.message_id}
            return
        self.debits.extend(
            item.collected(amount=item.amount, booked_on=line.booking_date) for item in pending
        )
        self.batch_ids.add(batch.pk)
        self.open_batches.pop(batch.pk, None)
        row.status = BankTransaction.Status.MATCHED
        row.note = _("Incassobatch %(batch)s (%(count)s incasso's)") % {
            "batch": batch.message_id,
            "count": len(pending),
        }
        self.result.debits += len(pending)

    def _batch_by_amount(self, line: StatementLine, row: BankTransaction) -> None:
        """A credit without references that is exactly what one exported batch has pending, on
        a day that fits its collection date, is that batch's total."""
        fitting = [
            pk
            for pk, (total, collection_date) in self.open_batches.items()
            if total == line.amount
            and collection_date - dt.timedelta(days=BATCH_DAYS_BEFORE)
            <= line.booking_date
            <= collection_date + dt.timedelta(days=BATCH_DAYS_AFTER)
        ]
        if len(fitting) != 1:
            return
        batch = CollectionBatch.objects.get(pk=fitting[0])
        self._batch_total(line, row, batch)

    def _transfer(self, line, row, invoices, balances) -> None:
        numbers = [n for n in _invoice_numbers(line.remittance) if n in invoices]
        if len(numbers) != 1:
            if len(numbers) > 1:
                row.note = _("Meer dan één factuurnummer genoemd: %(numbers)s.") % {
                    "numbers": ", ".join(sorted(numbers))
                }
            return
        invoice, _balance = invoices[numbers[0]]
        if invoice.kind != Invoice.Kind.INVOICE or invoice.status in (
            Invoice.Status.CREDITED,
            Invoice.Status.WRITTEN_OFF,
        ):
            row.note = _("Factuur %(number)s staat niet open (%(status)s).") % {
                "number": invoice.number,
                "status": invoice.get_status_display(),
            }
            return
        if balances[invoice.number] <= 0:
            row.note = _("Factuur %(number)s is al betaald: terugbetalen?") % {
                "number": invoice.number
            }
            return
        balances[invoice.number] -= line.amount
        self.transfers.append(
            Booking(
                invoice_id=invoice.pk,
                kind=LedgerEntry.Kind.PAYMENT,
                source=LedgerEntry.Source.TRANSFER,
                external_id=line.entry_key,
                amount=line.amount,
                booked_on=line.booking_date,
                note=_("Overboeking %(name)s") % {"name": line.counterparty_name},
            )
        )
        row.status, row.invoice_id = BankTransaction.Status.MATCHED, invoice.pk
        row.note = _("Overboeking voor factuur %(number)s") % {"number": invoice.number}
        self.result.transfers += 1

    def _book(self) -> None:
        debits_book_collected(debits=self.debits, by=self.by)
        # Booked before the returns are, and not marked collected: the return marks them.
        ledger_book_many(
            bookings=[debit_booking(debit) for debit in self.returned_unseen], by=self.by
        )
        created = ledger_book_many(bookings=self.transfers, by=self.by)
        entry_ids = [entry.pk for entry in created.values()]
        if entry_ids:
            task_enqueue("finance.tasks.receipts_send_task", entry_ids)
        if self.returns:
            self._book_returns()
        self._note_paid_while_in_batch()
        BankTransaction.objects.bulk_create(self.rows, batch_size=2000)
        batches_close_when_done(self.batch_ids)

    def _note_paid_while_in_batch(self) -> None:
        """A transfer for an invoice that an exported batch will also collect: say so on the line
        at once (the batch page and the overview flag it too)."""
        invoice_ids = {booking.invoice_id for booking in self.transfers}
        if not invoice_ids:
            return
        in_batch = dict(
            CollectionItem.objects.filter(
                invoice_id__in=invoice_ids,
                status=CollectionItem.Status.PENDING,
                batch__status=CollectionBatch.Status.EXPORTED,
            ).values_list("invoice_id", "batch__message_id")
        )
        for row in self.rows:
            if row.invoice_id in in_batch and row.status == BankTransaction.Status.MATCHED:
                warning = _("Let op: zit ook in incassobatch %(batch)s.") % {
                    "batch": in_batch[row.invoice_id]
                }
                row.note = f"{row.note} {warning}"[:300]

    def _book_returns(self) -> None:
        e2e_ids = [item.end_to_end_id for _line, item in self.returns]
        originals = {
            entry.external_id: entry
            for entry in LedgerEntry.objects.filter(
                source=LedgerEntry.Source.SEPA,
                external_id__in=e2e_ids,
                kind=LedgerEntry.Kind.PAYMENT,
            )
        }
        reversals = []
        for line, item in self.returns:
            original = originals.get(item.end_to_end_id)
            amount = min(abs(line.amount), original.amount if original else abs(line.amount))
            reversals.append(
                Booking(
                    invoice_id=item.invoice_id,
                    kind=LedgerEntry.Kind.REVERSAL,
                    source=LedgerEntry.Source.SEPA,
                    external_id=f"return:{item.end_to_end_id}",
                    amount=-amount,
                    booked_on=line.booking_date,
                    note=_("Storno %(code)s: %(reason)s")
                    % {
                        "code": line.return_reason or "-",
                        "reason": return_reason_text(line.return_reason),
                    },
                    reverses_id=original.pk if original else None,
                )
            )
        created = ledger_book_many(bookings=reversals, by=self.by)
        # Only returns booked now (not those an overlapping statement booked before).
        fresh = [
            (line, item)
            for line, item in self.returns
            if (LedgerEntry.Source.SEPA, f"return:{item.end_to_end_id}") in created
        ]
        by_reason: dict[str, list[int]] = {}
        for line, item in fresh:
            by_reason.setdefault(line.return_reason[:4], []).append(item.pk)
        for reason, pks in by_reason.items():
            CollectionItem.objects.filter(pk__in=pks).update(
                status=CollectionItem.Status.RETURNED, return_reason=reason
            )
        unusable = {
            item.mandate_id for line, item in fresh if line.return_reason in REVOKE_MANDATE_REASONS
        }
        for mandate in Mandate.objects.filter(pk__in=unusable, status=Mandate.Status.ACTIVE):
            mandate_revoke(mandate=mandate, by=None)
        item_ids = [item.pk for _line, item in fresh]
        if item_ids:
            task_enqueue("finance.tasks.returns_notify_task", item_ids)


def _open_batch_totals() -> dict[int, tuple[Decimal, dt.date]]:
    """Exported batches with debits pending: {batch id: (pending total, collection date)}."""
    rows = (
        CollectionItem.objects.filter(
            status=CollectionItem.Status.PENDING, batch__status=CollectionBatch.Status.EXPORTED
        )
        .order_by()
        .values("batch_id", "batch__collection_date")
        .annotate(total=Sum("amount"))
        .values_list("batch_id", "total", "batch__collection_date")
    )
    return {pk: (round_money(total), day) for pk, total, day in rows}


@dataclass(frozen=True, slots=True)
class _Debit:
    """What matching needs of a collection item, read as plain values."""

    pk: int
    end_to_end_id: str
    status: str
    amount: Decimal
    invoice_id: int
    invoice_number: str
    mandate_id: int
    batch_id: int
    batch_message_id: str
    collection_date: dt.date

    def collected(self, *, amount: Decimal, booked_on: dt.date) -> Collected:
        return Collected(
            item_id=self.pk,
            invoice_id=self.invoice_id,
            end_to_end_id=self.end_to_end_id,
            batch_message_id=self.batch_message_id,
            amount=amount,
            booked_on=booked_on,
        )


def _debits(items) -> list[_Debit]:
    rows = items.order_by("pk").values_list(
        "pk",
        "end_to_end_id",
        "status",
        "amount",
        "invoice_id",
        "invoice__number",
        "mandate_id",
        "batch_id",
        "batch__message_id",
        "batch__collection_date",
    )
    return [_Debit(*row) for row in rows]
