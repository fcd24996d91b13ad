"""Notes on the calls down the call list, and where each invoice then stands on it.

An invoice comes on the call list after two reminders (reminders.py). Whoever rings notes what
came of it; the newest note decides the invoice's place (sepa_selectors.call_list):

- No note yet, not reached, wrong number, other: still to call.
- Will pay, or wants to pay in parts: an agreement. The invoice leaves the people to call until
  `PAYMENT_GRACE_DAYS` after the promised date (a transfer takes days to reach the treasurer's
  bank statement), or `PROMISE_DAYS` after the call when no date was given; still unpaid then,
  it is back among the people to call. That day is kept on the note (`follow_up_on`).
- Cannot pay: the treasurer decides (a reduced rate, a write-off); nobody rings again meanwhile.

A payment takes the invoice off the list whatever the notes say. Notes are added, never changed:
a second call is a second note.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from coop.accounts.models import User

from ..models import CallNote, Invoice
from . import FinanceError
from .reminders import LEVEL_CALL_LIST, OPEN_STATUSES

PROMISES = (CallNote.Outcome.WILL_PAY, CallNote.Outcome.PAYMENT_PLAN)
PROMISE_DAYS = 14
PAYMENT_GRACE_DAYS = 7
MAX_PROMISE_DAYS = 366
MAX_NOTE_LENGTH = 1000


def call_follow_up_on(
    *, outcome: str, promised_on: dt.date | None, called_on: dt.date
) -> dt.date | None:
    """The day a promise runs out and the invoice is back among the people to call."""
    if outcome not in PROMISES:
        return None
    if promised_on is None:
        return called_on + dt.timedelta(days=PROMISE_DAYS)
    return promised_on + dt.timedelta(days=PAYMENT_GRACE_DAYS)


@transaction.atomic
def call_note_record(
    *,
    invoice: Invoice,
    outcome: str,
    note: str = "",
    promised_on: dt.date | None = None,
    by: User | None,
) -> CallNote:
    called_at = timezone.now()
    today = timezone.localdate(called_at)
    current = Invoice.objects.get(pk=invoice.pk)
    if current.status not in OPEN_STATUSES:
        raise FinanceError(
            _("Factuur %(number)s is al afgehandeld: bellen is niet meer nodig.")
            % {"number": current.number}
        )
    if current.kind != Invoice.Kind.INVOICE or current.reminder_level < LEVEL_CALL_LIST:
        raise FinanceError(_("Deze factuur staat niet op de bellijst."))
    if outcome not in CallNote.Outcome.values:
        raise FinanceError(_("Kies wat er uit het gesprek kwam."))
    if promised_on is not None:
        if outcome not in PROMISES:
            raise FinanceError(_("Vul alleen een datum in als iemand heeft beloofd te betalen."))
        if not today <= promised_on <= today + dt.timedelta(days=MAX_PROMISE_DAYS):
            raise FinanceError(_("Kies een datum van vandaag tot over een jaar."))
    note = note.strip()
    if len(note) > MAX_NOTE_LENGTH:
        raise FinanceError(
            _("De notitie mag niet langer zijn dan %(count)s tekens.") % {"count": MAX_NOTE_LENGTH}
        )
    return CallNote.objects.create(
        invoice=current,
        called_at=called_at,
        called_by=by,
        outcome=outcome,
        note=note,
        promised_on=promised_on,
        follow_up_on=call_follow_up_on(outcome=outcome, promised_on=promised_on, called_on=today),
    )
