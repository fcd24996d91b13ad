"""Forms members fill in themselves: their own data, their address, their housemates.

The sign-up form (members/signup.py) reuses the person and address fields defined here.
"""

import datetime as dt

from django import forms
from django.core.exceptions import ValidationError
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _

from .forms import AddressForm, _text, member_initial
from .models import Member
from .services import Person
from .validators import DATE_FORMATS, validate_date_of_birth, validate_phone


class PersonFields(forms.Form):
    """Name, phone, date of birth and language of one person."""

    given_name = _text(_("Voornaam"), autocomplete="given-name")
    tussenvoegsel = _text(
        _("Tussenvoegsel"),
        required=False,
        max_length=20,
        help_text=_("Bijvoorbeeld: van, de, van der."),
    )
    family_name = _text(_("Achternaam"), autocomplete="family-name")
    phone = _text(
        _("Telefoonnummer"),
        required=False,
        max_length=30,
        autocomplete="tel",
        validators=[validate_phone],
    )
    date_of_birth = forms.DateField(
        label=_("Geboortedatum"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date", "autocomplete": "bday"}, format="%Y-%m-%d"),
        input_formats=DATE_FORMATS,
        validators=[validate_date_of_birth],
    )
    language = forms.ChoiceField(
        label=_("Taal voor onze berichten"),
        choices=Member.Language.choices,
        initial=Member.Language.NL,
    )

    def person(self, *, email: str = "", contact_preference: str = "") -> Person:
        data = self.cleaned_data
        return Person(
            given_name=data["given_name"],
            tussenvoegsel=data.get("tussenvoegsel", ""),
            family_name=data["family_name"],
            email=email,
            phone=data.get("phone", ""),
            date_of_birth=data.get("date_of_birth"),
            language=data["language"],
            contact_preference=contact_preference,
        )


class AddressFields(AddressForm):
    """A structured Dutch address, the person's own: the browser may fill it in."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["street"].widget.attrs["autocomplete"] = "address-line1"
        self.fields["town"].widget.attrs["autocomplete"] = "address-level2"


class ContactPreferenceField(forms.ChoiceField):
    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("Post van de coöperatie ontvangen"))
        kwargs.setdefault("choices", Member.ContactPreference.choices)
        kwargs.setdefault("widget", forms.RadioSelect)
        super().__init__(**kwargs)


class OwnDataForm(PersonFields):
    """A member's own data. The e-mail address belongs to the account and is changed there."""

    contact_preference = ContactPreferenceField()

    @classmethod
    def initial_for(cls, member: Member) -> dict:
        return member_initial(cls, member)


class MoveForm(AddressFields):
    """The whole household moves to a new address."""

    changed_on = forms.DateField(
        label=_("Verhuisdatum"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        input_formats=["%Y-%m-%d", "%d-%m-%Y", "%d/%m/%Y"],
    )

    def clean_changed_on(self) -> dt.date:
        moved = self.cleaned_data["changed_on"]
        today = timezone.localdate()
        if moved > today + dt.timedelta(days=366):
            raise ValidationError(_("Vul een verhuisdatum in binnen een jaar vanaf nu."))
        if moved < today - dt.timedelta(days=5 * 366):
            raise ValidationError(_("Deze verhuisdatum ligt te ver terug."))
        return moved


class HousemateForm(PersonFields):
    """Someone who lives at the member's address. E-mail is optional: many have none."""

    email = forms.EmailField(
        label=_("E-mailadres"),
        required=False,
        help_text=_("Heeft uw huisgenoot geen e-mail? Laat dit leeg; wij sturen dan een brief."),
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )
    contact_preference = ContactPreferenceField(
        required=False,
        help_text=_("Niets gekozen? Dan per e-mail als er een e-mailadres is, anders per brief."),
    )

    field_order = [
        "given_name",
        "tussenvoegsel",
        "family_name",
        "email",
        "phone",
        "date_of_birth",
        "language",
        "contact_preference",
    ]

    def __init__(self, *args, email_locked: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if email_locked:
            # A housemate with an account of their own manages that address themselves.
            field = self.fields["email"]
            field.disabled = True
            field.help_text = _("Uw huisgenoot heeft een eigen account en wijzigt dit adres zelf.")

    @classmethod
    def initial_for(cls, member: Member) -> dict:
        return member_initial(cls, member)

    def clean_email(self) -> str:
        return (self.cleaned_data.get("email") or "").strip().lower()

    def clean(self):
        data = super().clean()
        if data.get("contact_preference") == Member.ContactPreference.EMAIL and not data.get(
            "email"
        ):
            self.add_error(
                "contact_preference", _("Post per e-mail kan alleen met een e-mailadres.")
            )
        return data

    def housemate(self) -> Person:
        preference = self.cleaned_data.get("contact_preference") or (
            Member.ContactPreference.EMAIL
            if self.cleaned_data["email"]
            else Member.ContactPreference.LETTER
        )
        return self.person(email=self.cleaned_data["email"], contact_preference=preference)


class NoticeForm(forms.Form):
    """Ending one's own membership: per the end of the year, or on a date the member chooses."""

    END_OF_YEAR = "year_end"
    ON_DATE = "date"

    when = forms.ChoiceField(label=_("Wanneer wilt u stoppen?"), widget=forms.RadioSelect)
    end_on = forms.DateField(
        label=_("Datum"),
        required=False,
        help_text=_("Alleen als u hierboven 'op een andere datum' kiest."),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        input_formats=DATE_FORMATS,
        error_messages={"invalid": _("Vul een datum in, bijvoorbeeld 31-12-2026.")},
    )
    reason = forms.CharField(
        label=_("Waarom stopt u? (mag leeg blijven)"),
        required=False,
        max_length=200,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Dit helpt ons om het beter te doen."),
        error_messages={"max_length": _("Dit is te lang: hooguit %(limit_value)d tekens.")},
    )

    def __init__(self, *args, year_end: dt.date, **kwargs):
        super().__init__(*args, **kwargs)
        self.year_end = year_end
        self.fields["when"].choices = [
            (
                self.END_OF_YEAR,
                _("Aan het einde van dit jaar (%(date)s)")
                % {"date": formats.date_format(year_end, "j F Y")},
            ),
            (self.ON_DATE, _("Op een andere datum")),
        ]
        self.fields["when"].initial = self.END_OF_YEAR

    def clean(self):
        data = super().clean()
        if data.get("when") == self.ON_DATE:
            end_on = data.get("end_on")
            today = timezone.localdate()
            if end_on is None:
                if "end_on" not in self.errors:
                    self.add_error("end_on", _("Vul de datum in waarop u wilt stoppen."))
            elif end_on < today:
                self.add_error("end_on", _("Kies vandaag of een datum in de toekomst."))
            elif end_on > today + dt.timedelta(days=366):
                self.add_error("end_on", _("Kies een datum binnen een jaar vanaf nu."))
        return data

    def chosen_end(self) -> dt.date:
        if self.cleaned_data["when"] == self.ON_DATE:
            return self.cleaned_data["end_on"]
        return self.year_end
