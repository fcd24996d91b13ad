"""Forms of the coordinator's pages: members, households, buurten, consents on paper.

Forms check what was typed and give plain messages; the services in members/services.py make
the change and guard the rules (a view shows their `MembershipError` on the form).
"""

import re

from django import forms
from django.core.exceptions import ValidationError
from django.forms.models import model_to_dict
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_scopes.forms import SafeModelChoiceField

from coop.lib.numbers import WholeNumberField
from coop.lib.postcode import InvalidPostcode, normalise_postcode

from .models import Buurt, ConsentText, Household, Member
from .services import Address, Person, email_in_use
from .validators import DATE_FORMATS, validate_date_of_birth, validate_phone

_RANGE_BOUND = re.compile(r"^\s*([1-9][0-9]{3})\s*([A-Za-z]{2})?\s*$")
# A coordinator entering a recent date may type '01-03-25'; a date of birth needs all four digits.
DATE_INPUT_FORMATS = [*DATE_FORMATS, "%d-%m-%y"]


def _date_field(
    label, *, required=True, help_text="", input_formats=DATE_INPUT_FORMATS, validators=()
) -> forms.DateField:
    return forms.DateField(
        label=label,
        required=required,
        help_text=help_text,
        input_formats=input_formats,
        validators=list(validators),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": _("Vul een datum in, bijvoorbeeld 31-12-2024.")},
    )


def _text(
    label, *, required=True, max_length=100, autocomplete="", help_text="", validators=()
) -> forms.CharField:
    field = forms.CharField(
        label=label,
        required=required,
        max_length=max_length,
        help_text=help_text,
        validators=list(validators),
        error_messages={
            "required": _("Vul dit veld in."),
            "max_length": _("Dit is te lang: hooguit %(limit_value)d tekens."),
        },
    )
    if autocomplete:
        field.widget.attrs["autocomplete"] = autocomplete
    return field


class PostcodeField(forms.CharField):
    """A Dutch postcode, cleaned to '1234 AB'."""

    default_error_messages = {
        "invalid": _("Vul een postcode in zoals 1234 AB: vier cijfers en twee letters."),
        "required": _("Vul de postcode in."),
    }

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 8)
        kwargs.setdefault("label", _("Postcode"))
        super().__init__(**kwargs)
        self.widget.attrs.update({"autocomplete": "postal-code", "size": "8"})

    def to_python(self, value):
        value = super().to_python(value)
        if value in self.empty_values:
            return value
        try:
            return normalise_postcode(value)
        except InvalidPostcode:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None


# People -------------------------------------------------------------------------------------


def member_initial(form_class: type[forms.Form], member: Member) -> dict:
    """Member forms name their fields after the member's, so a new field needs no second list."""
    return model_to_dict(member, fields=list(form_class.base_fields))


class MemberForm(forms.Form):
    """A person's own data. E-mail is optional: many members have none and get letters."""

    given_name = _text(_("Voornaam"), autocomplete="off")
    tussenvoegsel = _text(
        _("Tussenvoegsel"),
        required=False,
        max_length=20,
        help_text=_("Bijvoorbeeld: van, de, van der."),
    )
    family_name = _text(_("Achternaam"), autocomplete="off")
    email = forms.EmailField(
        label=_("E-mailadres"),
        required=False,
        help_text=_("Geen e-mail? Laat dit leeg; het lid krijgt dan brieven."),
        error_messages={
            "invalid": _("Dit is geen geldig e-mailadres. Voorbeeld: naam@voorbeeld.nl")
        },
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )
    phone = _text(
        _("Telefoonnummer"),
        required=False,
        max_length=30,
        autocomplete="off",
        validators=[validate_phone],
    )
    date_of_birth = _date_field(
        _("Geboortedatum"),
        required=False,
        input_formats=DATE_FORMATS,
        validators=[validate_date_of_birth],
    )
    language = forms.ChoiceField(
        label=_("Taal voor berichten"), choices=Member.Language.choices, initial=Member.Language.NL
    )
    contact_preference = forms.ChoiceField(
        label=_("Post ontvangen"),
        choices=Member.ContactPreference.choices,
        initial=Member.ContactPreference.LETTER,
        help_text=_("Per e-mail kan alleen als er een e-mailadres is."),
    )

    def __init__(self, *args, member: Member | None = None, **kwargs):
        self.member = member
        if member is not None:
            kwargs.setdefault("initial", self.initial_for(member))
        super().__init__(*args, **kwargs)
        if member is not None and member.user_id is not None:
            # The address is the member's login; they change it in their own account.
            field = self.fields["email"]
            field.disabled = True
            field.help_text = _(
                "Dit lid logt in met dit adres en wijzigt het zelf in het eigen account."
            )

    @classmethod
    def initial_for(cls, member: Member) -> dict:
        return member_initial(cls, member)

    def clean_email(self) -> str:
        email = (self.cleaned_data.get("email") or "").strip().lower()
        if email and email_in_use(email, exclude_member=self.member):
            raise ValidationError(
                _(
                    "Er is al een lid met dit e-mailadres. Elk lid heeft een eigen e-mailadres; "
                    "laat het veld leeg als deze persoon geen eigen adres heeft."
                ),
                code="unique",
            )
        return email

    def clean(self):
        data = super().clean()
        if data.get("contact_preference") == Member.ContactPreference.EMAIL and not data.get(
            "email"
        ):
            self.add_error(
                "contact_preference",
                _("Post per e-mail kan alleen met een e-mailadres. Kies 'Per brief'."),
            )
        return data

    def person(self) -> Person:
        data = self.cleaned_data
        return Person(
            given_name=data["given_name"],
            tussenvoegsel=data.get("tussenvoegsel", ""),
            family_name=data["family_name"],
            email=data.get("email", ""),
            phone=data.get("phone", ""),
            date_of_birth=data.get("date_of_birth"),
            language=data["language"],
            contact_preference=data["contact_preference"],
        )


# Addresses ----------------------------------------------------------------------------------


class AddressForm(forms.Form):
    """A structured Dutch address; the postcode is checked and written as '1234 AB'."""

    street = _text(_("Straat"), max_length=200, autocomplete="off")
    house_number = WholeNumberField(
        label=_("Huisnummer"),
        min_value=1,
        max_value=99999,
        # A text box, not type=number: browsers silently drop "12a" or show their own message.
        widget=forms.TextInput(attrs={"inputmode": "numeric", "size": "6"}),
        error_messages={
            "required": _("Vul het huisnummer in."),
            "invalid": _(
                "Vul alleen het nummer in; een letter of toevoeging gaat in het volgende veld."
            ),
            "min_value": _("Een huisnummer is 1 of hoger."),
        },
    )
    house_number_addition = _text(
        _("Toevoeging"),
        required=False,
        max_length=10,
        help_text=_("Bijvoorbeeld: A, bis of 2-hoog."),
    )
    postcode = PostcodeField()
    town = _text(_("Plaats"), autocomplete="off")

    def __init__(self, *args, household: Household | None = None, **kwargs):
        if household is not None:
            kwargs.setdefault("initial", self.initial_for(household))
        super().__init__(*args, **kwargs)

    @staticmethod
    def initial_for(household: Household) -> dict:
        return {
            "street": household.street,
            "house_number": household.house_number,
            "house_number_addition": household.house_number_addition,
            "postcode": household.postcode,
            "town": household.town,
        }

    def address(self) -> Address:
        data = self.cleaned_data
        return Address(
            street=data["street"],
            house_number=data["house_number"],
            house_number_addition=data.get("house_number_addition", ""),
            postcode=data["postcode"],
            town=data["town"],
        )


class HouseholdAddressForm(AddressForm):
    """The whole household moves: the new address and the date it applies from."""

    changed_on = _date_field(
        _("Verhuisd op"), help_text=_("De datum waarop het nieuwe adres ingaat.")
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["changed_on"].initial = timezone.localdate()


class HouseholdSearchForm(forms.Form):
    """Find a known address by postcode and house number (read from the query string)."""

    zoek_postcode = PostcodeField(label=_("Postcode"))
    zoek_huisnummer = WholeNumberField(
        label=_("Huisnummer"),
        required=False,
        min_value=1,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "size": "6"}),
        error_messages={"invalid": _("Vul alleen het nummer in.")},
    )


class HouseholdPickForm(forms.Form):
    """The household chosen from a search; empty means 'a new address'."""

    household = SafeModelChoiceField(
        queryset=Household.objects.none(),
        required=False,
        widget=forms.HiddenInput,
        error_messages={
            "invalid_choice": _("Dit adres bestaat niet meer. Zoek het adres opnieuw.")
        },
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["household"].queryset = Household.objects.select_related("buurt")


# Membership ---------------------------------------------------------------------------------


class StatusChangeForm(forms.Form):
    """One step in the membership's lifecycle; only the steps the rules allow are offered."""

    to_status = forms.ChoiceField(
        label=_("Nieuwe status"),
        error_messages={"invalid_choice": _("Deze status kan niet vanuit de huidige status.")},
    )
    effective_on = _date_field(_("Met ingang van"))
    reason = _text(
        _("Reden"),
        required=False,
        max_length=300,
        help_text=_("Verplicht bij opzeggen, overlijden of royement."),
    )

    def __init__(self, *args, member: Member, **kwargs):
        super().__init__(*args, **kwargs)
        self.member = member
        allowed = member.allowed_transitions()
        self.fields["to_status"].choices = [
            (value, label) for value, label in Member.Status.choices if value in allowed
        ]
        self.fields["effective_on"].initial = timezone.localdate()

    def clean(self):
        data = super().clean()
        if data.get("to_status") in Member.ENDED and not (data.get("reason") or "").strip():
            self.add_error("reason", _("Geef een reden voor het einde van het lidmaatschap."))
        return data


class MoveForm(HouseholdPickForm):
    """A member moves: to a known household (picked by search) or to a new address."""

    moved_on = _date_field(_("Verhuisd op"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["moved_on"].initial = timezone.localdate()


# Buurten ------------------------------------------------------------------------------------


class BuurtForm(forms.ModelForm):
    class Meta:
        model = Buurt
        fields = ["name", "description"]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}
        error_messages = {
            "name": {
                "unique": _("Er is al een buurt met deze naam."),
                "required": _("Geef de buurt een naam."),
            }
        }

    def clean_name(self) -> str:
        return self.cleaned_data["name"].strip()


def _range_bound(value: str, *, upper: bool) -> str:
    match = _RANGE_BOUND.match(value or "")
    if not match:
        raise ValidationError(
            _(
                "Vul een postcode in zoals 1234 AB, "
                "of alleen de vier cijfers (1234) voor het hele gebied."
            ),
            code="invalid",
        )
    digits, letters = match.groups()
    letters = (letters or ("ZZ" if upper else "AA")).upper()
    return f"{digits} {letters}"


class PostcodeRangeForm(forms.Form):
    """Postcodes from `start` to `end`; four digits ('1234') mean the whole area 1234 AA–ZZ."""

    start = forms.CharField(
        label=_("Van postcode"),
        max_length=8,
        help_text=_("Bijvoorbeeld 7911 AA, of 7911 voor het hele gebied 7911."),
        error_messages={"required": _("Vul de eerste postcode in.")},
    )
    end = forms.CharField(
        label=_("Tot en met postcode"),
        max_length=8,
        required=False,
        help_text=_("Leeg: alleen de postcode(s) van het veld hierboven."),
    )

    def clean_start(self) -> str:
        return _range_bound(self.cleaned_data["start"], upper=False)

    def clean(self):
        data = super().clean()
        raw_start = (self.data.get(self.add_prefix("start")) or "").strip()
        raw_end = (data.get("end") or "").strip() or raw_start
        if "start" not in data:
            return data
        try:
            data["end"] = _range_bound(raw_end, upper=True)
        except ValidationError as error:
            self.add_error("end", error)
            return data
        if data["start"] > data["end"]:
            self.add_error("end", _("De laatste postcode moet na de eerste komen."))
        return data


# Consent ------------------------------------------------------------------------------------


class ConsentTextChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: ConsentText) -> str:
        return _("%(title)s (versie %(version)s)") % {"title": obj.title, "version": obj.version}


class PaperConsentForm(forms.Form):
    """Consents a resident signed on paper, entered by a coordinator (assisted use)."""

    consent_texts = ConsentTextChoiceField(
        label=_("Toestemming op papier"),
        queryset=ConsentText.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Kies waarvoor de persoon toestemming gaf.")},
        help_text=_("Kies alleen wat de persoon op papier heeft ondertekend. Bewaar het papier."),
    )

    def __init__(self, *args, texts: list[ConsentText], required: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["consent_texts"]
        field.queryset = ConsentText.objects.filter(pk__in=[t.pk for t in texts]).order_by(
            "key", "-version"
        )
        field.required = required
        self.texts = texts


class NoticeConfirmForm(forms.Form):
    """A coordinator confirms a member's notice; the date is the one the member asked for."""

    effective_on = _date_field(
        _("Lid tot en met"),
        help_text=_("De datum die het lid koos. Pas hem alleen aan als u iets anders afsprak."),
    )
