"""The membership fields of the sign-up page ("Word lid").

allauth builds its sign-up form on top of this class (ACCOUNT_SIGNUP_FORM_CLASS), adding e-mail
and password, and calls `signup()` once the account exists. This module must not import
allauth's forms: allauth imports it while defining them.
"""

from django import forms
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from .models import ConsentText
from .portal_forms import AddressFields, PersonFields
from .services import consent_texts_current, signup_application_save

PERSON_FIELDS = ["given_name", "tussenvoegsel", "family_name", "date_of_birth", "phone", "language"]
ADDRESS_FIELDS = ["street", "house_number", "house_number_addition", "postcode", "town"]
ACCOUNT_FIELDS = ["email", "password1", "password2"]
CONSENT_PREFIX = "consent_"


class MembershipSignupForm(PersonFields, AddressFields):
    field_order = PERSON_FIELDS + ADDRESS_FIELDS + ACCOUNT_FIELDS

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        language = (get_language() or "")[:2]
        if language in dict(self.fields["language"].choices):
            self.fields["language"].initial = language
        self.consent_texts: dict[str, ConsentText] = {}
        for text in sorted(consent_texts_current(), key=lambda t: (not t.required, t.key)):
            name = f"{CONSENT_PREFIX}{text.key}"
            label = (
                _("Ik ga akkoord met: %(title)s")
                if text.required
                else _("Ik geef toestemming voor: %(title)s")
            ) % {"title": text.title}
            self.fields[name] = forms.BooleanField(
                label=label,
                required=text.required,
                error_messages={"required": _("Zonder dit akkoord kunt u geen lid worden.")},
            )
            self.consent_texts[name] = text

    def fieldsets(self) -> list[dict]:
        """The page in four parts, each a list of (field, consent text or None).

        Fields allauth adds that are not named here go with the login part.
        """
        groups = [
            {"legend": _("Over u"), "names": PERSON_FIELDS},
            {"legend": _("Uw adres"), "names": ADDRESS_FIELDS},
            {
                "legend": _("Inloggen"),
                "names": ACCOUNT_FIELDS,
                "intro": _(
                    "Met dit e-mailadres en wachtwoord logt u in. U krijgt een e-mail om uw "
                    "adres te bevestigen. Later kunt u ook inloggen met een code die wij u per "
                    "e-mail sturen."
                ),
            },
            {"legend": _("Toestemming"), "names": list(self.consent_texts)},
        ]
        placed = {name for group in groups for name in group["names"]}
        for group in groups:
            group["rows"] = [
                (self[name], self.consent_texts.get(name))
                for name in group["names"]
                if name in self.fields
            ]
        groups[2]["rows"] += [
            (bound, None) for bound in self.visible_fields() if bound.name not in placed
        ]
        return [group for group in groups if group["rows"]]

    def signup(self, request, user) -> None:
        """Keep the application until the e-mail address is confirmed (members/receivers.py).

        An address that already belongs to a member is not refused here: the page must answer
        the same for every address. Confirming it links the account to that member instead.
        """
        signup_application_save(
            user=user,
            person=self.person(email=user.email),
            address=self.address(),
            consent_texts=[
                text for name, text in self.consent_texts.items() if self.cleaned_data.get(name)
            ],
        )
