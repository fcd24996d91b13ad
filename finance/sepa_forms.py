"""Forms for mandates, direct debit batches, bank statements and reminders. They only check
input; the services in finance/services/ decide and save."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils.translation import gettext_lazy as _

from coop.lib.money import format_money
from coop.lib.numbers import WholeNumberField
from members.models import Member

from .dues_forms import MoneyField
from .models import CallNote, Invoice, Mandate
from .services import FinanceError
from .services.calls import MAX_NOTE_LENGTH, MAX_PROMISE_DAYS, PROMISES
from .services.identifiers import iban_validate, mandate_reference_validate
from .services.statement_files import MAX_FILE_BYTES, too_large_error


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


def _clean_iban(value: str) -> str:
    try:
        return str(iban_validate(value).compact)
    except FinanceError as exc:
        raise forms.ValidationError(str(exc)) from None


class MandateSignForm(forms.Form):
    """The member's own mandate: name, IBAN and an explicit yes to the mandate text."""

    account_holder = forms.CharField(
        label=_("Naam van de rekeninghouder"),
        max_length=70,
        help_text=_("Zoals die bij de bank bekend is."),
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    iban = forms.CharField(
        label=_("Rekeningnummer (IBAN)"),
        max_length=42,
        help_text=_("Staat op uw bankpas en bankafschrift, bijvoorbeeld NL91 ABNA 0417 1643 00."),
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "spellcheck": "false", "inputmode": "text"}
        ),
    )
    consent = forms.BooleanField(
        label=_("Ja, ik geef deze toestemming voor automatische incasso."),
        required=True,
        error_messages={"required": _("Zet een vinkje om toestemming te geven.")},
        widget=forms.CheckboxInput(attrs={"aria-describedby": "mandate-text"}),
    )

    def clean_iban(self):
        return _clean_iban(self.cleaned_data["iban"])


class PaperMandateForm(forms.Form):
    """A signed paper mandate, typed in by a coordinator or the treasurer."""

    member_number = WholeNumberField(
        label=_("Lidnummer"),
        min_value=1,
        help_text=_("Van een lid van het huishouden dat betaalt."),
    )
    account_holder = forms.CharField(label=_("Naam van de rekeninghouder"), max_length=70)
    iban = forms.CharField(label=_("Rekeningnummer (IBAN)"), max_length=42)
    bic = forms.CharField(
        label=_("BIC"), max_length=11, required=False, help_text=_("Leeg laten: wij zoeken hem op.")
    )
    signed_on = forms.DateField(label=_("Getekend op"), widget=DateInput())
    reference = forms.CharField(
        label=_("Kenmerk op het formulier"),
        max_length=35,
        required=False,
        help_text=_("Leeg laten: wij maken een kenmerk, bijvoorbeeld WKC-123-1."),
    )

    def clean_member_number(self):
        number = self.cleaned_data["member_number"]
        member = Member.objects.select_related("household").filter(number=number).first()
        if member is None:
            raise forms.ValidationError(_("Er is geen lid met dit nummer."))
        self.member = member
        return number

    def clean_iban(self):
        return _clean_iban(self.cleaned_data["iban"])

    def clean_reference(self):
        reference = self.cleaned_data["reference"].strip()
        if not reference:
            return ""
        try:
            return mandate_reference_validate(reference)
        except FinanceError as exc:
            raise forms.ValidationError(str(exc)) from None


class MandateFilterForm(forms.Form):
    q = forms.CharField(label=_("Zoek op naam, kenmerk of lidnummer"), required=False)
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("Alle"))] + list(Mandate.Status.choices)
    )


class BatchCreateForm(forms.Form):
    collection_date = forms.DateField(
        label=_("Incassodatum"),
        widget=DateInput(),
        help_text=_(
            "Minstens 14 dagen vooruit, op een werkdag: leden krijgen eerst een vooraankondiging."
        ),
    )


class StatementUploadForm(forms.Form):
    file = forms.FileField(
        label=_("Bankafschrift"),
        help_text=_(
            "Het dagafschrift van uw bank als CAMT.053 (XML) of MT940. "
            "Hetzelfde bestand twee keer inlezen kan geen kwaad."
        ),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_FILE_BYTES:
            raise forms.ValidationError(str(too_large_error()))
        return upload


class ResolveForm(forms.Form):
    invoice_number = forms.CharField(
        label=_("Factuurnummer"), max_length=20, help_text=_("Bijvoorbeeld 2026-000123.")
    )

    def clean_invoice_number(self):
        number = self.cleaned_data["invoice_number"].strip()
        invoice = Invoice.objects.filter(number=number).first()
        if invoice is None:
            raise forms.ValidationError(
                _("Er is geen factuur met nummer %(number)s.") % {"number": number}
            )
        self.invoice = invoice
        return number


class IgnoreForm(forms.Form):
    note = forms.CharField(
        label=_("Waarom geen factuur?"),
        max_length=300,
        required=False,
        help_text=_("Bijvoorbeeld: bankkosten, een gift."),
    )


class ReminderSettingsForm(forms.Form):
    first_reminder_days = WholeNumberField(
        label=_("Eerste herinnering: dagen na de vervaldatum"), min_value=1, max_value=365
    )
    second_reminder_days = WholeNumberField(
        label=_("Tweede herinnering: dagen na de eerste"), min_value=1, max_value=365
    )
    call_list_days = WholeNumberField(
        label=_("Op de bellijst: dagen na de tweede herinnering"), min_value=1, max_value=365
    )


class CallNoteForm(forms.Form):
    outcome = forms.ChoiceField(
        label=_("Uitkomst van het gesprek"),
        choices=CallNote.Outcome.choices,
        widget=forms.RadioSelect,
        error_messages={"required": _("Kies wat er uit het gesprek kwam.")},
    )
    promised_on = forms.DateField(
        label=_("Betaalt uiterlijk op"),
        required=False,
        widget=DateInput(),
        help_text=_(
            "Alleen als iemand belooft te betalen. Bij betalen in delen: de dag van het laatste "
            "deel. Is er een week na die datum nog niet betaald, dan komt de factuur terug op "
            "de bellijst. Zonder datum is dat over twee weken."
        ),
    )
    note = forms.CharField(
        label=_("Notitie"),
        required=False,
        max_length=MAX_NOTE_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Bijvoorbeeld: bel na 18.00 uur. Schrijf alleen op wat nodig is."),
    )

    def __init__(self, *args, today: dt.date, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today

    def clean(self):
        data = super().clean()
        promised_on = data.get("promised_on")
        if promised_on is None:
            return data
        if data.get("outcome") and data["outcome"] not in PROMISES:
            self.add_error(
                "promised_on", _("Vul alleen een datum in als iemand heeft beloofd te betalen.")
            )
        elif not self.today <= promised_on <= self.today + dt.timedelta(days=MAX_PROMISE_DAYS):
            self.add_error("promised_on", _("Kies een datum van vandaag tot over een jaar."))
        return data


class SplitForm(forms.Form):
    """One bank line divided over several invoices: a few rows of invoice number and amount."""

    ROWS = 5

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for index in range(1, self.ROWS + 1):
            self.fields[f"invoice_{index}"] = forms.CharField(
                label=_("Factuurnummer %(n)s") % {"n": index}, max_length=20, required=False
            )
            self.fields[f"amount_{index}"] = MoneyField(
                label=_("Bedrag %(n)s") % {"n": index}, required=False, allow_zero=False
            )

    def rows(self):
        """(invoice field, amount field) per row, for the template."""
        return [
            (self[f"invoice_{index}"], self[f"amount_{index}"]) for index in range(1, self.ROWS + 1)
        ]

    def clean(self):
        data = super().clean()
        numbers = [
            (data.get(f"invoice_{index}") or "").strip() for index in range(1, self.ROWS + 1)
        ]
        found = {invoice.number: invoice for invoice in Invoice.objects.filter(number__in=numbers)}
        parts = []
        for index, number in enumerate(numbers, 1):
            amount = data.get(f"amount_{index}")
            if not number and amount is None:
                continue
            if not number:
                self.add_error(f"invoice_{index}", _("Vul het factuurnummer in."))
            elif number not in found:
                self.add_error(
                    f"invoice_{index}",
                    _("Er is geen factuur met nummer %(number)s.") % {"number": number},
                )
            if amount is None and f"amount_{index}" not in self.errors:
                self.add_error(f"amount_{index}", _("Vul het bedrag in."))
            if number in found and amount is not None:
                parts.append((found[number], amount))
        if not parts and not self.errors:
            raise forms.ValidationError(_("Vul minstens één factuur met een bedrag in."))
        self.parts = parts
        return data


class LinkBatchForm(forms.Form):
    batch = forms.TypedChoiceField(label=_("Incassobatch"), coerce=int)

    def __init__(self, *args, batches=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["batch"].choices = [
            (
                batch.pk,
                _("%(date)s · %(batch)s · %(total)s open in %(count)s incasso's")
                % {
                    "date": batch.collection_date.strftime("%d-%m-%Y"),
                    "batch": batch.message_id,
                    "total": format_money(total),
                    "count": count,
                },
            )
            for batch, total, count in batches
        ]
