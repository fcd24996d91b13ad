"""SEPA direct debit mandates (machtigingen): signed in the portal or on paper, revoked, expired.

Rules, in one place:

- Portal mandates get the reference "WKC-<member number>-<n>"; a paper one keeps the reference
  printed on it (checked by identifiers.py). The BIC is looked up from the IBAN when not given.
- A household has one active mandate (a database constraint): signing a new one revokes the old.
  A mandate not used for 36 months expires (EPC rulebook), checked daily.
"""

from __future__ import annotations

import calendar
import datetime as dt

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from coop.accounts.models import User
from members.models import Household, Member

from ..models import CollectionBatch, CollectionItem, Mandate
from . import FinanceError
from .identifiers import REFERENCE_PREFIX, bic_validate, iban_validate, mandate_reference_validate
from .sepa import batch_totals_refresh

MANDATE_UNUSED_MONTHS = 36


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
            batch_totals_refresh(batch)
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
