"""Forms for the treasurer's dues and invoice pages. They validate; the services persist."""

from decimal import Decimal

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_scopes.forms import SafeModelChoiceField

from coop.lib.money import AmountAmbiguous, AmountTooPrecise, format_money, parse_money_typed
from coop.lib.numbers import WholeNumberField
from members.models import Buurt

from .models import ContributionScheme, Invoice, MemberRate

YEAR_MIN, YEAR_MAX = 2000, 2100


class MoneyField(forms.CharField):
    """An amount as people type it: '7,50', '7.50', '€ 1.234,56'. Never negative.

    Read strictly (`parse_money_typed`): '1e3' is refused, and so are more than two decimals
    ('7,555') and a point before three digits ('7.555': thousands or cents?), with a message
    saying how to type it, instead of reading €1.000 or rounding to €7,56."""

    def __init__(self, *, allow_zero: bool = True, **kwargs):
        self.allow_zero = allow_zero
        kwargs.setdefault("max_length", 20)
        super().__init__(**kwargs)

    def widget_attrs(self, widget):
        attrs = super().widget_attrs(widget)
        attrs.update({"inputmode": "decimal", "autocomplete": "off"})
        return attrs

    def prepare_value(self, value):
        if isinstance(value, Decimal):
            return f"{value:.2f}".replace(".", ",")
        return value

    def clean(self, value):
        value = super().clean(value)
        if value in self.empty_values:
            return None
        try:
            amount = parse_money_typed(value)
        except AmountTooPrecise:
            raise forms.ValidationError(
                _("Een bedrag heeft hoogstens twee cijfers na de komma, bijvoorbeeld 7,55.")
            ) from None
        except AmountAmbiguous as exc:
            raise forms.ValidationError(
                _(
                    "Is %(text)s bedoeld als %(whole)s? Typ het bedrag dan zonder punt. "
                    "Centen schrijft u na een komma, bijvoorbeeld 7,55."
                )
                % {"text": value.strip(), "whole": format_money(Decimal(exc.whole))}
            ) from None
        except ValueError:
            raise forms.ValidationError(_("Vul een bedrag in, bijvoorbeeld 7,50.")) from None
        if amount < 0:
            raise forms.ValidationError(_("Een bedrag kan niet negatief zijn."))
        if amount == 0 and not self.allow_zero:
            raise forms.ValidationError(_("Het bedrag moet meer dan € 0,00 zijn."))
        if amount > Decimal("99999.99"):
            raise forms.ValidationError(_("Dat bedrag is te hoog."))
        return amount


class SchemeForm(forms.Form):
    year = WholeNumberField(label=_("Jaar"), min_value=YEAR_MIN, max_value=YEAR_MAX)
    first_member_amount = MoneyField(
        label=_("Eerste lid van een huishouden"), help_text=_("Bijvoorbeeld 10,00.")
    )
    further_member_amount = MoneyField(
        label=_("Elk volgend lid op hetzelfde adres"), help_text=_("Bijvoorbeeld 7,50.")
    )
    reduced_amount = MoneyField(
        label=_("Verlaagd tarief per lid"), help_text=_("Voor leden met een laag inkomen (minima).")
    )
    mid_year = forms.ChoiceField(
        label=_("Wie halverwege het jaar lid wordt, betaalt"),
        choices=ContributionScheme.MidYear.choices,
        widget=forms.RadioSelect,
        help_text=_(
            "Naar rato: het bedrag × het aantal maanden vanaf de maand van inschrijving / 12."
        ),
    )
    due_days = WholeNumberField(
        label=_("Betaaltermijn in dagen"), min_value=0, max_value=365, initial=30
    )
    description = forms.CharField(
        label=_("Omschrijving op de factuur"), max_length=140, initial="Contributie"
    )
    minimum_invoice_amount = MoneyField(
        label=_("Minimumbedrag per factuur"),
        required=False,
        initial=Decimal("0.00"),
        help_text=_(
            "Voor een huishouden dat minder dan dit bedrag zou betalen, bijvoorbeeld na een "
            "inschrijving laat in het jaar. Laat 0,00 staan voor geen minimum."
        ),
    )
    below_minimum = forms.ChoiceField(
        label=_("Is het totaal van een huishouden lager dan het minimumbedrag?"),
        choices=ContributionScheme.BelowMinimum.choices,
        widget=forms.RadioSelect,
        initial=ContributionScheme.BelowMinimum.SKIP,
        required=False,
    )

    def __init__(self, *args, scheme: ContributionScheme | None = None, **kwargs):
        if scheme is not None:
            kwargs.setdefault(
                "initial",
                {
                    "year": scheme.year,
                    "first_member_amount": scheme.first_member_amount,
                    "further_member_amount": scheme.further_member_amount,
                    "reduced_amount": scheme.reduced_amount,
                    "mid_year": scheme.mid_year,
                    "due_days": scheme.due_days,
                    "description": scheme.description,
                    "minimum_invoice_amount": scheme.minimum_invoice_amount,
                    "below_minimum": scheme.below_minimum,
                },
            )
        super().__init__(*args, **kwargs)
        if scheme is not None:
            self.fields["year"].disabled = True
        else:
            self.fields["year"].initial = timezone.localdate().year + 1
            self.fields["mid_year"].initial = ContributionScheme.MidYear.FULL

    def clean_minimum_invoice_amount(self):
        return self.cleaned_data["minimum_invoice_amount"] or Decimal("0.00")

    def clean_below_minimum(self):
        return self.cleaned_data["below_minimum"] or ContributionScheme.BelowMinimum.SKIP


class DuesRunForm(forms.Form):
    confirm = forms.BooleanField(
        label=_("Ik heb het overzicht gecontroleerd. Maak de facturen."), required=True
    )


class InvoiceFilterForm(forms.Form):
    q = forms.CharField(label=_("Zoek op nummer of naam"), required=False, max_length=100)
    year = WholeNumberField(label=_("Jaar"), required=False, min_value=YEAR_MIN, max_value=YEAR_MAX)
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("Alle"))] + list(Invoice.Status.choices)
    )
    kind = forms.ChoiceField(
        label=_("Soort"), required=False, choices=[("", _("Alle"))] + list(Invoice.Kind.choices)
    )
    buurt = SafeModelChoiceField(
        label=_("Buurt"),
        required=False,
        queryset=Buurt.objects.none(),
        empty_label=_("Alle buurten"),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["buurt"].queryset = Buurt.objects.all()  # the cooperative's, when asked


class DuesStatusFilterForm(forms.Form):
    q = forms.CharField(label=_("Zoek op naam of postcode"), required=False, max_length=100)
    year = WholeNumberField(label=_("Jaar"), required=False, min_value=YEAR_MIN, max_value=YEAR_MAX)
    buurt = SafeModelChoiceField(
        label=_("Buurt"),
        required=False,
        queryset=Buurt.objects.none(),
        empty_label=_("Alle buurten"),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["buurt"].queryset = Buurt.objects.all()  # the cooperative's, when asked


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reden"), max_length=300, widget=forms.TextInput)
    confirm = forms.BooleanField(label=_("Ja, ik weet het zeker."), required=True)


class ManualPaymentForm(forms.Form):
    amount = MoneyField(label=_("Bedrag"), allow_zero=False, help_text=_("Bijvoorbeeld 25,00."))
    booked_on = forms.DateField(
        label=_("Ontvangen op"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    note = forms.CharField(
        label=_("Notitie"),
        required=False,
        max_length=300,
        help_text=_("Bijvoorbeeld: contant betaald bij de koffieochtend."),
    )
    # Shown only once the amount turned out to be more than is open on the invoice.
    confirm_overpayment = forms.BooleanField(
        label=_(
            "Ja, boek dit bedrag. Wat te veel is betaald, komt bij de te veel betaalde facturen."
        ),
        required=False,
        widget=forms.HiddenInput,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["booked_on"].initial = timezone.localdate()
        if self.is_bound and self.data.get("confirm_overpayment") in ("on", "True", "true", "1"):
            self.ask_overpayment_confirmation()

    def ask_overpayment_confirmation(self) -> None:
        self.fields["confirm_overpayment"].widget = forms.CheckboxInput()


class MemberRateForm(forms.Form):
    rate = forms.ChoiceField(
        label=_("Tarief"), choices=MemberRate.Rate.choices, widget=forms.RadioSelect
    )
    reason = forms.CharField(
        label=_("Reden"),
        required=False,
        max_length=200,
        help_text=_("Nodig bij verlaagd tarief of gratis lidmaatschap."),
    )


class OverpaidForm(forms.Form):
    """How to settle an overpaid invoice: pay the surplus back, or keep it as credit."""

    REFUND, CREDIT = "refund", "credit"
    way = forms.ChoiceField(
        label=_("Wat doen we met het te veel betaalde?"),
        choices=[
            (
                CREDIT,
                _(
                    "Laten staan als tegoed: de volgende factuur van dit huishouden wordt ermee betaald"
                ),
            ),
            (REFUND, _("Terugbetalen op een bankrekening")),
        ],
        widget=forms.RadioSelect,
    )
    iban = forms.CharField(
        label=_("IBAN voor de terugbetaling"),
        required=False,
        max_length=42,
        help_text=_("Alleen bij terugbetalen. Ingevuld: de rekening waar het geld vandaan kwam."),
    )
    account_holder = forms.CharField(label=_("Naam rekeninghouder"), required=False, max_length=70)

    def clean(self):
        data = super().clean()
        if data.get("way") == self.REFUND:
            if not (data.get("iban") or "").strip():
                self.add_error("iban", _("Vul het rekeningnummer (IBAN) in om terug te betalen."))
            if not (data.get("account_holder") or "").strip():
                self.add_error("account_holder", _("Vul de naam van de rekeninghouder in."))
        return data
