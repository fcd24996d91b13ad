"""Returned direct debits (storneringen): what the bank's reason means, what happens next, and
the message to the member.

Re-collection rules, by the reason code the bank gives (ISO 20022 / EPC):

- Never again by debit (NEVER): the account or the mandate cannot be used again — closed (AC04),
  blocked (AC06), debtor deceased (MD07), and the other codes in REVOKE_MANDATE_REASONS. The
  mandate is revoked; the invoice is paid by transfer or online.
- Once more (RETRY_ONCE): insufficient funds (AM04) and a refusal by the bank without reason
  (MS03). The next batch collects the invoice one more time, after a new pre-notice (every debit
  of a batch gets one). A second return of the same invoice makes it manual.
- Not automatically (MANUAL): the member refused the debit (MS02) or asked the bank for a refund
  (MD06), and every other code. The member gets the pay-online link; the invoice goes on the call
  list; no batch takes it again.
"""

from __future__ import annotations

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils.functional import lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from coop.core.services import outbox_enqueue

from ..models import CollectionItem, Mandate
from .contact import creditor_context, household_contact, invoice_pay_url

RETURN_REASONS = {
    "AC01": gettext_lazy("het rekeningnummer klopt niet"),
    "AC04": gettext_lazy("de rekening is opgeheven"),
    "AC06": gettext_lazy("de rekening is geblokkeerd"),
    "AG01": gettext_lazy("op deze rekening mogen geen incasso's worden afgeschreven"),
    "AG02": gettext_lazy("de bank kon de opdracht niet verwerken"),
    "AM04": gettext_lazy("er stond niet genoeg geld op de rekening"),
    "AM05": gettext_lazy("het bedrag was al eerder afgeschreven"),
    "BE05": gettext_lazy("de bank kende ons als incassant niet"),
    "CNOR": gettext_lazy("de bank van de coöperatie was niet bereikbaar"),
    "DNOR": gettext_lazy("uw bank was niet bereikbaar"),
    "FF01": gettext_lazy("er zat een fout in het incassobestand"),
    "MD01": gettext_lazy("de bank kent geen machtiging voor deze afschrijving"),
    "MD02": gettext_lazy("de gegevens van de machtiging waren niet compleet"),
    "MD06": gettext_lazy("u heeft de afschrijving bij uw bank laten terugboeken"),
    "MD07": gettext_lazy("de rekeninghouder is overleden"),
    "MS02": gettext_lazy("de afschrijving is geweigerd, zonder opgave van reden"),
    "MS03": gettext_lazy("de bank heeft de afschrijving geweigerd, zonder opgave van reden"),
    "RC01": gettext_lazy("de code van de bank (BIC) klopt niet"),
    "RR01": gettext_lazy("de bank miste gegevens die de wet vraagt"),
    "RR02": gettext_lazy("de bank miste gegevens die de wet vraagt"),
    "RR03": gettext_lazy("de bank miste gegevens die de wet vraagt"),
    "RR04": gettext_lazy("de bank mocht de afschrijving om wettelijke redenen niet doen"),
    "SL01": gettext_lazy("u heeft bij uw bank incasso's van ons geblokkeerd"),
}
# After these the account or the mandate cannot be used again: the mandate is revoked.
REVOKE_MANDATE_REASONS = frozenset({"AC01", "AC04", "AC06", "AG01", "MD01", "MD07", "SL01"})
# May be collected once more, after a new pre-notice.
RETRY_ONCE_REASONS = frozenset({"AM04", "MS03"})

NEVER = "never"
RETRY_ONCE = "retry_once"
MANUAL = "manual"
DONE = "done"  # paid, credited or written off meanwhile: nothing left to do

NEXT_STEP_TEXT = {
    NEVER: gettext_lazy(
        "Nooit meer per incasso: de machtiging is ingetrokken. Het lid betaalt per overboeking "
        "of online."
    ),
    RETRY_ONCE: gettext_lazy(
        "Wordt nog één keer geïncasseerd: de volgende batch neemt de factuur mee, na een nieuwe "
        "vooraankondiging."
    ),
    MANUAL: gettext_lazy(
        "Niet meer automatisch: het lid kreeg een link om online te betalen en de factuur staat "
        "op de bellijst."
    ),
    DONE: gettext_lazy("Afgehandeld: de factuur staat niet meer open."),
}


def return_reason_text(code: str) -> str:
    code = (code or "").upper()
    if code in RETURN_REASONS:
        return str(RETURN_REASONS[code])
    if code:
        return _("de bank heeft de afschrijving teruggeboekt (code %(code)s)") % {"code": code}
    return _("de bank heeft de afschrijving teruggeboekt")


# The same text, in whatever language is active when it is shown (a message in the member's).
return_reason_text_lazy = lazy(return_reason_text, str)


def return_next_step(code: str, *, returns_of_invoice: int) -> str:
    """What happens to an invoice after a return with this code (see the module docstring)."""
    code = (code or "").upper()
    if code in REVOKE_MANDATE_REASONS:
        return NEVER
    if code in RETRY_ONCE_REASONS and returns_of_invoice <= 1:
        return RETRY_ONCE
    return MANUAL


def _returned(invoice_ref) -> QuerySet[CollectionItem]:
    return CollectionItem.objects.filter(invoice=invoice_ref, status=CollectionItem.Status.RETURNED)


def not_collectable_after_return() -> Q:
    """For an Invoice queryset: invoices a batch must not take again because of a return — any
    return other than AM04/MS03, or a second return."""
    blocking = _returned(OuterRef("pk")).exclude(return_reason__in=RETRY_ONCE_REASONS)
    return Q(Exists(blocking)) | Q(pk__in=_invoices_returned_twice())


def _invoices_returned_twice():
    return (
        CollectionItem.objects.filter(status=CollectionItem.Status.RETURNED)
        .order_by()
        .values("invoice")
        .annotate(n=Count("pk"))
        .filter(n__gte=2)
        .values("invoice")
    )


def manual_after_return() -> Q:
    """For an Invoice queryset: invoices that wait for the member after a return (MANUAL), which
    is what puts them on the call list."""
    returned = _returned(OuterRef("pk"))
    manual = returned.exclude(return_reason__in=RETRY_ONCE_REASONS | REVOKE_MANDATE_REASONS)
    return Q(Exists(manual)) | Q(pk__in=_invoices_returned_twice())


def collection_returns_notify(*, item_ids: list[int]) -> int:
    """Tell each member whose debit came back: the reason in plain words, what happens next and
    how to pay now, in the member's own language (outbox_enqueue renders in it; the reason
    is a lazy text for that).

    Queued after the import commits; each message once (key finance.returned:<item id>)."""
    items = CollectionItem.objects.filter(
        pk__in=item_ids, status=CollectionItem.Status.RETURNED
    ).select_related("invoice", "invoice__household", "mandate")
    counts = dict(
        CollectionItem.objects.filter(
            invoice__in=items.values("invoice"), status=CollectionItem.Status.RETURNED
        )
        .order_by()
        .values("invoice")
        .annotate(n=Count("pk"))
        .values_list("invoice", "n")
    )
    creditor = creditor_context()
    sent = 0
    for item in items.order_by("pk"):
        invoice = item.invoice
        contact = household_contact(invoice.household, fallback_name=invoice.recipient_name)
        step = return_next_step(item.return_reason, returns_of_invoice=counts.get(invoice.pk, 1))
        _message, new = outbox_enqueue(
            key=f"finance.returned:{item.pk}",
            template="finance/email/debit-returned",
            context={
                "name": contact.name,
                "invoice": invoice,
                "amount": item.amount,
                "reason_code": item.return_reason,
                "reason": return_reason_text_lazy(item.return_reason),
                "mandate_revoked": step == NEVER and item.mandate.status == Mandate.Status.REVOKED,
                "will_retry": step == RETRY_ONCE,
                "pay_url": invoice_pay_url(invoice),
                **creditor,
            },
            **contact.outbox_recipient(),
        )
        sent += int(new)
    return sent
