"""The search and filters of the coordinator's member list (read from the query string)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Buurt, Member
from .selectors import LIST_BUURT_OUTSIDE as BUURT_OUTSIDE
from .selectors import LIST_STATUS_ALL as STATUS_ALL
from .selectors import LIST_STATUS_CURRENT as STATUS_CURRENT

BUURT_ALL = ""

SORT_CHOICES = [
    ("name", _("Naam (A–Z)")),
    ("-name", _("Naam (Z–A)")),
    ("number", _("Lidnummer (laag–hoog)")),
    ("-number", _("Lidnummer (hoog–laag)")),
    ("postcode", _("Postcode")),
    ("joined", _("Lid sinds")),
]
SORT_DEFAULT = "name"


class MemberFilterForm(forms.Form):
    """Always usable: a value that does not fit falls back to its default, never an error page."""

    q = forms.CharField(
        label=_("Zoeken"),
        required=False,
        max_length=100,
        help_text=_("Naam, adres, postcode, telefoonnummer, lidnummer of e-mailadres"),
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )
    status = forms.ChoiceField(label=_("Status"), required=False)
    buurt = forms.ChoiceField(label=_("Buurt"), required=False)
    sort = forms.ChoiceField(label=_("Sorteren op"), required=False, choices=SORT_CHOICES)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = [
            (STATUS_CURRENT, _("Huidige leden (aangemeld en actief)")),
            *Member.Status.choices,
            (STATUS_ALL, _("Alle statussen")),
        ]
        self.fields["buurt"].choices = [
            (BUURT_ALL, _("Alle buurten")),
            *((str(pk), name) for pk, name in Buurt.objects.values_list("pk", "name")),
            (BUURT_OUTSIDE, _("Buiten het werkgebied")),
        ]

    def select_options(self) -> list[tuple[str, dict]]:
        """The drop-downs as (name, {label, options: [(value, label, selected)]}) for the page."""
        current = self.filters()
        return [
            (
                name,
                {
                    "label": self.fields[name].label,
                    "options": [
                        (value, str(label), value == current[name])
                        for value, label in self.fields[name].choices
                    ],
                },
            )
            for name in ("status", "buurt", "sort")
        ]

    def filters(self) -> dict[str, str]:
        """Keyword arguments for `selectors.member_list`; defaults for missing or bad values."""
        defaults = {"q": "", "status": STATUS_CURRENT, "buurt": BUURT_ALL, "sort": SORT_DEFAULT}
        if not self.is_bound:
            return defaults
        self.is_valid()
        cleaned = getattr(self, "cleaned_data", {})
        return {
            name: (cleaned.get(name) or default).strip() if name not in self.errors else default
            for name, default in defaults.items()
        }
