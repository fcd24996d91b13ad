"""SEPA direct debit (incasso): mandates, collection batches and the pain.008 file for the bank.

Rules, in one place:

- A mandate (machtiging) has a reference of at most 35 characters from
  `A-Z a-z 0-9 : ? / + ( ) , . -` and space, not starting or ending with "/" and without "//"
  (the EPC identifier rules). Portal mandates get "WKC-<member number>-<n>"; a paper one keeps
  the reference printed on it.
  IBAN and BIC are checked with schwifty; the BIC is looked up from the IBAN when not given.
- A household has one active mandate (a database constraint): signing a new one revokes the old.
  A mandate not used for 36 months expires (EPC rulebook), checked daily.
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

import calendar
import datetime as dt
import re
import uuid

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import CharField, Exists, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Cast, Coalesce, Concat
from django.utils import timezone
from django.utils.translation import gettext as _
from schwifty import BIC, IBAN
from schwifty import exceptions as iban_errors

from coop.accounts.models import User
from coop.core.models import OutboxMessage
from coop.core.services import outbox_enqueue
from coop.lib.money import ZERO, round_money
from coop.lib.tasks import task_enqueue
from members.models import Household, Member

from ..models import CollectionBatch, CollectionItem, Invoice, LedgerEntry, Mandate
from . import FinanceError
from .contact import creditor_context, household_contact
from .ledger import Booking, bulk_work_begin, ledger_book_many
from .pain008 import SUPPORTED_PAIN_VERSIONS, Debit, pain_document_build, pain_validate

SEQUENCE_TYPE = "RCUR"
MANDATE_UNUSED_MONTHS = 36
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


def _months_before(day: dt.date, months: int) -> dt.date:
    year, month0 = divmod(day.year * 12 + day.month - 1 - months, 12)
    last_day = calendar.monthrange(year, month0 + 1)[1]
    return dt.date(year, month0 + 1, min(day.day, last_day))


# Mandates -------------------------------------------------------------------------------------


def mandate_text(*, creditor_name: str | None = None) -> str:
    """The standard Dutch text of a recurring SEPA mandate (doorlopende machtiging)."""
    name = creditor_name or settings.SEPA_CREDITOR_NAME
    return _(
        "Door deze machtiging te geven, geeft u toestemming aan %(name)s om doorlopend "
        "incasso-opdrachten te sturen naar uw bank om een bedrag van uw rekening af te schrijven "
        "voor uw contributie, en aan uw bank om doorlopend een bedrag van uw rekening af te "
        "schrijven volgens de opdracht van %(name)s. Als u het niet eens bent met een "
        "afschrijving, "
        "kunt u die laten terugboeken. Neem daarvoor binnen 8 weken na de afschrijving contact op "
        "met uw bank. Vraag uw bank naar de voorwaarden."
    ) % {"name": name}


def _reference_generate(household: Household, signed_by: Member | None) -> str:
    member = signed_by or household.members.order_by("number").first()
    base = f"{REFERENCE_PREFIX}-{member.number if member else f'H{household.pk}'}"
    n = household.mandates.count() + 1
    while Mandate.objects.filter(reference=f"{base}-{n}").exists():
        n += 1
    return f"{base}-{n}"


def _account_holder_clean(value: str) -> str:
    value = " ".join((value or "").split())
    if not value:
        raise FinanceError(_("Vul de naam van de rekeninghouder in."))
    if len(value) > 70:
        raise FinanceError(_("De naam van de rekeninghouder is hoogstens 70 tekens lang."))
    return value


def _mandate_create(
    *,
    household: Household,
    signed_by: Member | None,
    account_holder: str,
    iban: str,
    bic: str,
    signed_on: dt.date,
    reference: str,
    via: str,
    by: User | None,
) -> Mandate:
    checked_iban = iban_validate(iban)
    checked_bic = bic_validate(bic, iban=checked_iban)
    holder = _account_holder_clean(account_holder)
    # One signing at a time per household: the old mandate is revoked in the same transaction.
    Household.objects.select_for_update().filter(pk=household.pk).first()
    if Mandate.objects.filter(reference=reference).exists():
        raise FinanceError(_("Er is al een machtiging met kenmerk %(ref)s.") % {"ref": reference})
    today = timezone.localdate()
    for old in Mandate.objects.filter(household=household, status=Mandate.Status.ACTIVE):
        _mandate_revoke_locked(old, today=today)
    try:
        with transaction.atomic():
            return Mandate.objects.create(
                household=household,
                signed_by=signed_by,
                reference=reference,
                iban=checked_iban.compact,
                bic=checked_bic,
                account_holder=holder,
                signed_on=signed_on,
                via=via,
                created_by=by,
            )
    except IntegrityError:
        raise FinanceError(
            _("Deze machtiging is net al vastgelegd. Kijk de lijst nog eens na.")
        ) from None


@transaction.atomic
def mandate_sign(
    *,
    household: Household,
    signed_by: Member,
    account_holder: str,
    iban: str,
    bic: str = "",
    consent: bool,
    by: User | None,
) -> Mandate:
    """A member signs a mandate in the portal. Replaces the household's current one."""
    if consent is not True:
        raise FinanceError(
            _("Zet een vinkje om toestemming te geven voor de automatische incasso.")
        )
    if signed_by.household_id != household.pk or not signed_by.is_current:
        raise FinanceError(_("Alleen een lid van dit huishouden kan de machtiging tekenen."))
    return _mandate_create(
        household=household,
        signed_by=signed_by,
        account_holder=account_holder,
        iban=iban,
        bic=bic,
        signed_on=timezone.localdate(),
        reference=_reference_generate(household, signed_by),
        via=Mandate.Via.PORTAL,
        by=by,
    )


@transaction.atomic
def mandate_record_paper(
    *,
    household: Household,
    account_holder: str,
    iban: str,
    signed_on: dt.date,
    bic: str = "",
    reference: str = "",
    signed_by: Member | None = None,
    by: User | None,
) -> Mandate:
    """The coordinator or treasurer records a signed paper form, with its date and reference."""
    today = timezone.localdate()
    if signed_on > today:
        raise FinanceError(_("De datum van ondertekening kan niet in de toekomst liggen."))
    if signed_on < _months_before(today, MANDATE_UNUSED_MONTHS):
        raise FinanceError(
            _("Deze machtiging is ouder dan 36 maanden en nooit gebruikt: vraag een nieuwe aan.")
        )
    if signed_by is not None and signed_by.household_id != household.pk:
        raise FinanceError(_("Deze persoon hoort niet bij dit huishouden."))
    reference = (
        mandate_reference_validate(reference)
        if reference
        else _reference_generate(household, signed_by)
    )
    return _mandate_create(
        household=household,
        signed_by=signed_by,
        account_holder=account_holder,
        iban=iban,
        bic=bic,
        signed_on=signed_on,
        reference=reference,
        via=Mandate.Via.PAPER,
        by=by,
    )


def _mandate_revoke_locked(mandate: Mandate, *, today: dt.date) -> bool:
    revoked = Mandate.objects.filter(pk=mandate.pk, status=Mandate.Status.ACTIVE).update(
        status=Mandate.Status.REVOKED, revoked_on=today
    )
    # Debits not yet sent to the bank are taken out of their draft batch.
    drafts = CollectionItem.objects.filter(
        mandate_id=mandate.pk,
        status=CollectionItem.Status.PENDING,
        batch__status=CollectionBatch.Status.DRAFT,
    )
    batch_ids = set(drafts.values_list("batch_id", flat=True))
    if batch_ids:
        drafts.delete()
        for batch in CollectionBatch.objects.filter(pk__in=batch_ids):
            _batch_totals_refresh(batch)
    return bool(revoked)


@transaction.atomic
def mandate_revoke(*, mandate: Mandate, by: User | None) -> Mandate:
    """Stop collecting with this mandate. Debits already sent to the bank still run."""
    if mandate.status != Mandate.Status.ACTIVE:
        raise FinanceError(_("Deze machtiging is al niet meer actief."))
    _mandate_revoke_locked(mandate, today=timezone.localdate())
    mandate.refresh_from_db()
    return mandate


@transaction.atomic
def mandates_expire_unused(*, today: dt.date | None = None) -> int:
    """Mandates unused for 36 months (since signing, or since the last collection) expire."""
    today = today or timezone.localdate()
    cutoff = _months_before(today, MANDATE_UNUSED_MONTHS)
    stale = Mandate.objects.filter(status=Mandate.Status.ACTIVE).filter(
        Q(last_used_on__lt=cutoff) | Q(last_used_on__isnull=True, signed_on__lt=cutoff)
    )
    return stale.update(status=Mandate.Status.EXPIRED)


# Batches --------------------------------------------------------------------------------------


def _batch_totals_refresh(batch: CollectionBatch) -> None:
    totals = batch.items.aggregate(total=Coalesce(Sum("amount"), ZERO))
    batch.total = totals["total"]
    batch.count = batch.items.count()
    batch.save(update_fields=["total", "count"])


def _collectable_invoices():
    """Open and partly paid invoices with an active mandate and no pending debit, with balance."""
    active_mandate = Mandate.objects.filter(
        household=OuterRef("household"), status=Mandate.Status.ACTIVE
    )
    booked = (
        LedgerEntry.objects.filter(invoice=OuterRef("pk"))
        .order_by()
        .values("invoice")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    return (
        Invoice.objects.filter(
            kind=Invoice.Kind.INVOICE, status__in=[Invoice.Status.OPEN, Invoice.Status.PARTLY_PAID]
        )
        .exclude(collection_items__status=CollectionItem.Status.PENDING)
        .annotate(
            mandate_id=Subquery(active_mandate.values("pk")[:1]),
            booked=Coalesce(Subquery(booked), ZERO),
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
        _collectable_invoices()
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
    _batch_totals_refresh(batch)
    task_enqueue("finance.tasks.batch_prenotify_task", batch.pk)
    return batch


def prenotice_key(item_id: int) -> str:
    return f"finance.prenotice:{item_id}"


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


def _batch_prepare_items(batch: CollectionBatch) -> list[Debit]:
    """Take out what can no longer be collected, lower amounts that were partly paid meanwhile.

    Reads plain values in one query (balance included), so 30,000 debits stay quick.
    """
    booked = (
        LedgerEntry.objects.filter(invoice=OuterRef("invoice_id"))
        .order_by()
        .values("invoice")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    rows = (
        batch.items.order_by("pk")
        .annotate(booked=Coalesce(Subquery(booked), ZERO))
        .values_list(
            "pk",
            "amount",
            "end_to_end_id",
            "sequence_type",
            "invoice__total",
            "invoice__status",
            "invoice__number",
            "invoice__year",
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
                description=f"{scheme_text or _('Factuur')} {year} factuur {number}",
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
        .select_related("invoice", "mandate", "invoice__household")
        .order_by("pk")
    )


@transaction.atomic
def batch_export(*, batch: CollectionBatch, by: User | None, today: dt.date | None = None) -> bytes:
    """Build, validate and store the pain.008 file; the batch is locked from then on.

    Nothing is stored when the file does not validate. Exporting an exported batch again is
    refused (download the stored file instead): a bank must never get the same debits twice.
    """
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
    missing = _prenotices_missing(batch)
    if (
        missing
        and _prenotify_items(batch, missing)
        and batch.collection_date < today + dt.timedelta(days=settings.SEPA_PRENOTIFICATION_DAYS)
    ):
        # Pre-notices just queued now would arrive too late for this date.
        raise FinanceError(
            _(
                "Niet alle leden hebben op tijd een vooraankondiging gekregen. "
                "Maak een batch met een latere datum."
            )
        )
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


@transaction.atomic
def batch_mark_collected(
    *, batch: CollectionBatch, by: User | None, today: dt.date | None = None
) -> int:
    """The bank collected the batch: book a payment for every debit still pending.

    Bookings use the EndToEndId as external id, the same as a bank statement line for the debit,
    so importing the statement afterwards (or before) books nothing twice. Returns how many
    payments were booked now.
    """
    bulk_work_begin()
    today = today or timezone.localdate()
    batch = CollectionBatch.objects.select_for_update().get(pk=batch.pk)
    if batch.status == CollectionBatch.Status.DRAFT:
        raise FinanceError(_("Exporteer de batch eerst en lever het bestand bij de bank in."))
    if batch.status == CollectionBatch.Status.COLLECTED:
        raise FinanceError(_("Deze batch is al als geïncasseerd gemarkeerd."))
    if today < batch.collection_date:
        raise FinanceError(
            _("De incassodatum (%(date)s) is nog niet bereikt.")
            % {"date": batch.collection_date.strftime("%d-%m-%Y")}
        )
    pending = list(batch.items.filter(status=CollectionItem.Status.PENDING).order_by("pk"))
    created = ledger_book_many(
        bookings=[
            Booking(
                invoice_id=item.invoice_id,
                kind=LedgerEntry.Kind.PAYMENT,
                source=LedgerEntry.Source.SEPA,
                external_id=item.end_to_end_id,
                amount=item.amount,
                booked_on=batch.collection_date,
                note=_("Incasso %(batch)s") % {"batch": batch.message_id},
            )
            for item in pending
        ],
        by=by,
    )
    CollectionItem.objects.filter(pk__in=[item.pk for item in pending]).update(
        status=CollectionItem.Status.COLLECTED
    )
    batch.status = CollectionBatch.Status.COLLECTED
    batch.save(update_fields=["status"])
    return len(created)
