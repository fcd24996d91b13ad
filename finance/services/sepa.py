"""SEPA direct debit (incasso): collection batches and the pain.008 file for the bank.

Mandates are in mandates.py, the identifiers they carry in identifiers.py; booking what was collected is in
collections.py.

Rules, in one place:

- A batch collects the open balance of every open or partly paid invoice whose household has an
  active mandate and that is not already in a pending collection. The collection date is at least
  SEPA_PRENOTIFICATION_DAYS (14) days ahead, because every member gets a pre-notification with
  amount, date, mandate reference and creditor identifier, and falls on a TARGET2 business day.
- Every debit is sent as RCUR: since November 2016 a first collection no longer needs FRST, and
  RCUR for every collection is what Dutch banks advise.
- The file (pain008.py) is checked against its XSD before anything is stored; a file that does
  not validate raises FinanceError and the batch stays a draft. Exported batches are locked.
  Before export, debits whose invoice was paid meanwhile are taken out and partly paid ones
  lowered to what is still owed (never raised above the pre-notified amount).
"""

from __future__ import annotations

import datetime as dt
import uuid

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import CharField, Exists, OuterRef, Subquery, Value
from django.db.models.functions import Cast, Coalesce, Concat
from django.utils import timezone
from django.utils.translation import gettext as _

from coop.accounts.models import User
from coop.core.models import OutboxMessage
from coop.core.services import outbox_enqueue
from coop.lib.money import ZERO, round_money
from coop.lib.tasks import task_enqueue
from members.models import Member

from ..models import CollectionBatch, CollectionItem, Invoice, Mandate
from ..selectors import household_has_current_member
from . import FinanceError
from .batch_care import (
    batch_totals_refresh,
    prenotice_key,
    prenotice_letters_error,
    prenotice_letters_late,
)
from .contact import creditor_context, household_contact
from .identifiers import REFERENCE_PREFIX, creditor_id_errors, iban_masked
from .ledger import booked_on_invoice, bulk_work_begin
from .pain008 import SUPPORTED_PAIN_VERSIONS, Debit, pain_document_build, pain_validate
from .returns import not_collectable_after_return

SEQUENCE_TYPE = "RCUR"


# Dates ----------------------------------------------------------------------------------------


def _easter(year: int) -> dt.date:
    """Gregorian Easter Sunday (anonymous algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    r = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * r) // 451
    month, day = divmod(h + r - 7 * m + 114, 31)
    return dt.date(year, month, day + 1)


def is_business_day(day: dt.date) -> bool:
    """A TARGET2 day: no weekend, New Year, Good Friday, Easter Monday, 1 May, 25 or 26 December."""
    if day.weekday() >= 5:
        return False
    easter = _easter(day.year)
    closed = {
        dt.date(day.year, 1, 1),
        easter - dt.timedelta(days=2),
        easter + dt.timedelta(days=1),
        dt.date(day.year, 5, 1),
        dt.date(day.year, 12, 25),
        dt.date(day.year, 12, 26),
    }
    return day not in closed


def collection_date_earliest(today: dt.date | None = None) -> dt.date:
    day = (today or timezone.localdate()) + dt.timedelta(days=settings.SEPA_PRENOTIFICATION_DAYS)
    while not is_business_day(day):
        day += dt.timedelta(days=1)
    return day


# Batches --------------------------------------------------------------------------------------


def _collectable_invoices(today: dt.date | None = None):
    """Open and partly paid invoices with an active mandate and no pending debit, with balance.

    Not: invoices of a household whose members have all left, nor invoices a return took out of
    direct debit (see returns.py: only AM04/MS03 are collected once more)."""
    active_mandate = Mandate.objects.filter(
        household=OuterRef("household"), status=Mandate.Status.ACTIVE
    )
    booked = booked_on_invoice()
    return (
        Invoice.objects.filter(
            kind=Invoice.Kind.INVOICE, status__in=[Invoice.Status.OPEN, Invoice.Status.PARTLY_PAID]
        )
        .filter(household_has_current_member(on=today))
        .exclude(collection_items__status=CollectionItem.Status.PENDING)
        .exclude(not_collectable_after_return())
        .annotate(
            mandate_id=Subquery(active_mandate.values("pk")[:1]),
            booked=booked,
        )
        .filter(mandate_id__isnull=False)
    )


def batch_preview(*, collection_date: dt.date | None = None) -> dict:
    """How many debits and how much a batch would collect now."""
    rows = _collectable_invoices().values_list("total", "booked")
    amounts = [round_money(total - booked) for total, booked in rows]
    amounts = [a for a in amounts if a > 0]
    return {
        "count": len(amounts),
        "total": sum(amounts, ZERO),
        "earliest": collection_date_earliest(),
    }


@transaction.atomic
def batch_create(
    *, collection_date: dt.date, by: User | None, today: dt.date | None = None
) -> CollectionBatch:
    """A draft batch with every collectable invoice; pre-notifications are queued right after."""
    bulk_work_begin()
    today = today or timezone.localdate()
    earliest = today + dt.timedelta(days=settings.SEPA_PRENOTIFICATION_DAYS)
    if collection_date < earliest:
        raise FinanceError(
            _(
                "De incassodatum moet minstens %(days)s dagen na vandaag liggen, dus op of na "
                "%(date)s: leden krijgen eerst een vooraankondiging."
            )
            % {"days": settings.SEPA_PRENOTIFICATION_DAYS, "date": earliest.strftime("%d-%m-%Y")}
        )
    if collection_date > today + dt.timedelta(days=365):
        raise FinanceError(_("Kies een incassodatum binnen een jaar."))
    if not is_business_day(collection_date):
        later = collection_date
        while not is_business_day(later):
            later += dt.timedelta(days=1)
        raise FinanceError(
            _("Op %(date)s werken de banken niet. Kies bijvoorbeeld %(later)s.")
            % {"date": collection_date.strftime("%d-%m-%Y"), "later": later.strftime("%d-%m-%Y")}
        )
    rows = list(
        _collectable_invoices(today)
        .order_by("pk")
        .values_list("pk", "number", "total", "booked", "mandate_id")
    )
    rows = [
        (pk, number, round_money(total - booked), mandate_id)
        for pk, number, total, booked, mandate_id in rows
    ]
    rows = [row for row in rows if row[2] > 0]
    if not rows:
        raise FinanceError(
            _("Er zijn geen openstaande facturen met een machtiging om te incasseren.")
        )
    batch = CollectionBatch.objects.create(
        collection_date=collection_date,
        message_id=uuid.uuid4().hex,
        schema_version=settings.SEPA_PAIN_VERSION,
        created_by=by,
    )
    batch.message_id = f"{REFERENCE_PREFIX}-{collection_date:%Y%m%d}-{batch.pk}"
    batch.save(update_fields=["message_id"])
    items = [
        CollectionItem(
            batch=batch,
            invoice_id=pk,
            mandate_id=mandate_id,
            amount=amount,
            end_to_end_id=f"{number}-B{batch.pk}",
            sequence_type=SEQUENCE_TYPE,
        )
        for pk, number, amount, mandate_id in rows
    ]
    try:
        with transaction.atomic():
            CollectionItem.objects.bulk_create(items, batch_size=2000)
    except IntegrityError:
        raise FinanceError(
            _(
                "Een andere incassobatch is tegelijk gemaakt met dezelfde facturen. "
                "Kijk de lijst met batches na."
            )
        ) from None
    batch_totals_refresh(batch)
    task_enqueue("finance.tasks.batch_prenotify_task", batch.pk)
    return batch


def batch_prenotify(*, batch: CollectionBatch) -> int:
    """Queue the pre-notification of every debit in the batch once; returns how many were new."""
    return _prenotify_items(batch, _prenotices_missing(batch))


def _prenotify_items(batch: CollectionBatch, todo: list[CollectionItem]) -> int:
    if not todo:
        return 0
    household_ids = {item.invoice.household_id for item in todo}
    members: dict[int, list[Member]] = {}
    for member in Member.objects.filter(household_id__in=household_ids):
        members.setdefault(member.household_id, []).append(member)
    creditor = creditor_context()
    created = 0
    for item in todo:
        invoice = item.invoice
        contact = household_contact(
            invoice.household,
            members=members.get(invoice.household_id, []),
            fallback_name=invoice.recipient_name,
        )
        with transaction.atomic():
            _, new = outbox_enqueue(
                key=prenotice_key(item.pk),
                template="finance/email/prenotice",
                context={
                    "name": contact.name,
                    "invoice": invoice,
                    "amount": item.amount,
                    "collection_date": batch.collection_date,
                    "mandate_reference": item.mandate.reference,
                    "account_holder": item.mandate.account_holder,
                    "iban_masked": iban_masked(item.mandate.iban),
                    **creditor,
                },
                **contact.outbox_recipient(),
            )
        created += int(new)
    return created


# Exporting ---------------------------------------------------------------------------------------


def _house_number(number: int, addition: str) -> str:
    """Household.house_number_full, from plain values."""
    if not addition:
        return str(number)
    return f"{number}{'-' if addition[0].isdigit() else ''}{addition}"


def _debit_description(scheme_text: str | None, year: int, number: str) -> str:
    """'Contributie 2027 factuur 2027-000012': the year the invoice is for (its dues year), not
    the year it is collected in."""
    return f"{scheme_text or _('Factuur')} {year} factuur {number}"


def _batch_prepare_items(batch: CollectionBatch) -> list[Debit]:
    """Take out what can no longer be collected, lower amounts that were partly paid meanwhile.

    Reads plain values in one query (balance included), so 30,000 debits stay quick.
    """
    booked = booked_on_invoice("invoice_id")
    rows = (
        batch.items.order_by("pk")
        .annotate(
            booked=booked,
            for_year=Coalesce("invoice__dues_year", "invoice__year"),
        )
        .values_list(
            "pk",
            "amount",
            "end_to_end_id",
            "sequence_type",
            "invoice__total",
            "invoice__status",
            "invoice__number",
            "for_year",
            "invoice__scheme__description",
            "booked",
            "mandate__status",
            "mandate__reference",
            "mandate__signed_on",
            "mandate__iban",
            "mandate__bic",
            "mandate__account_holder",
            "invoice__household__street",
            "invoice__household__house_number",
            "invoice__household__house_number_addition",
            "invoice__household__postcode",
            "invoice__household__town",
            "invoice__household__country",
        )
    )
    open_statuses = (Invoice.Status.OPEN, Invoice.Status.PARTLY_PAID)
    debits: list[Debit] = []
    drop: list[int] = []
    lowered: list[CollectionItem] = []
    for row in rows.iterator(chunk_size=5000):
        (pk, amount, e2e, seq, total, status, number, year, scheme_text, paid, mandate_status) = (
            row[:11]
        )
        balance = round_money(total - paid)
        if status not in open_statuses or balance <= 0 or mandate_status != Mandate.Status.ACTIVE:
            drop.append(pk)
            continue
        if balance < amount:
            amount = balance
            lowered.append(CollectionItem(pk=pk, amount=balance))
        (
            reference,
            signed_on,
            iban,
            bic,
            holder,
            street,
            number_,
            addition,
            postcode,
            town,
            country,
        ) = row[11:]
        debits.append(
            Debit(
                end_to_end_id=e2e,
                amount=amount,
                sequence_type=seq,
                mandate_reference=reference,
                mandate_signed_on=signed_on,
                iban=iban,
                bic=bic,
                account_holder=holder,
                description=_debit_description(scheme_text, year, number),
                street=street,
                house_number=_house_number(number_, addition),
                postcode=postcode,
                town=town,
                country=country,
            )
        )
    if drop:
        CollectionItem.objects.filter(pk__in=drop).delete()
    if lowered:
        CollectionItem.objects.bulk_update(lowered, ["amount"], batch_size=2000)
    return debits


def _prenotices_missing(batch: CollectionBatch) -> list[CollectionItem]:
    """Debits of the batch whose pre-notification is not in the outbox (one query, no key list)."""
    key = Concat(Value("finance.prenotice:"), Cast("pk", output_field=CharField()))
    queued = OutboxMessage.objects.filter(key=OuterRef("prenotice_key"))
    return list(
        batch.items.annotate(prenotice_key=key)
        .filter(~Exists(queued))
        .filter(
            invoice__status__in=[Invoice.Status.OPEN, Invoice.Status.PARTLY_PAID],
            mandate__status=Mandate.Status.ACTIVE,
        )
        .select_related("invoice", "mandate", "invoice__household")
        .order_by("pk")
    )


def batch_export(*, batch: CollectionBatch, by: User | None, today: dt.date | None = None) -> bytes:
    """Build, validate and store the pain.008 file; the batch is locked from then on.

    Nothing is stored when the file does not validate. Exporting an exported batch again is
    refused (download the stored file instead): a bank must never get the same debits twice.
    A pre-notice still missing is queued first and kept even when the export is then refused
    (it is needed for any later date), so a letter it makes can be printed.
    """
    queued_now = 0
    if batch.status == CollectionBatch.Status.DRAFT:
        queued_now = _prenotify_items(batch, _prenotices_missing(batch))
    return _batch_export(batch=batch, by=by, today=today, queued_now=queued_now)


@transaction.atomic
def _batch_export(
    *, batch: CollectionBatch, by: User | None, today: dt.date | None, queued_now: int
) -> bytes:
    bulk_work_begin()
    today = today or timezone.localdate()
    batch = CollectionBatch.objects.select_for_update().get(pk=batch.pk)
    if batch.status != CollectionBatch.Status.DRAFT:
        raise FinanceError(
            _(
                "Deze batch is al geëxporteerd en kan niet meer veranderen. "
                "Download het bestand opnieuw."
            )
        )
    version = settings.SEPA_PAIN_VERSION
    if version not in SUPPORTED_PAIN_VERSIONS:
        raise FinanceError(_("Onbekende versie van het incassobestand: %(v)s.") % {"v": version})
    errors = creditor_id_errors(settings.SEPA_CREDITOR_ID)
    if errors:
        raise FinanceError(_("Het incassant-ID in de instellingen klopt niet: ") + " ".join(errors))
    if batch.collection_date <= today:
        raise FinanceError(
            _("De incassodatum is voorbij. Maak een nieuwe batch met een latere datum.")
        )
    debits = _batch_prepare_items(batch)
    if not debits:
        raise FinanceError(
            _(
                "Er is niets meer te incasseren in deze batch: "
                "alle facturen zijn betaald of vervallen."
            )
        )
    if queued_now and batch.collection_date < today + dt.timedelta(
        days=settings.SEPA_PRENOTIFICATION_DAYS
    ):
        # Pre-notices just queued now would arrive too late for this date.
        raise FinanceError(
            _(
                "Niet alle leden hebben op tijd een vooraankondiging gekregen. "
                "Maak een batch met een latere datum."
            )
        )
    late_letters = prenotice_letters_late(batch)
    if late_letters:
        raise prenotice_letters_error(batch, late_letters)
    try:
        xml = pain_document_build(batch=batch, debits=debits, version=version)
    except FinanceError:
        raise
    except Exception as exc:  # sepaxml reports bad input with plain exceptions
        raise FinanceError(
            _("Het incassobestand kon niet gemaakt worden: %(error)s") % {"error": exc}
        ) from None
    pain_validate(xml, version)
    batch.xml = xml.decode("utf-8")
    batch.schema_version = version
    batch.status = CollectionBatch.Status.EXPORTED
    batch.exported_at = timezone.now()
    batch.count = len(debits)
    batch.total = sum((debit.amount for debit in debits), ZERO)
    batch.save(update_fields=["xml", "schema_version", "status", "exported_at", "count", "total"])
    Mandate.objects.filter(pk__in=batch.items.values("mandate_id")).update(
        last_used_on=batch.collection_date
    )
    return xml
