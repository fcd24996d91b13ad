"""allauth adapter: the messages people see when logging in, in plain Dutch and the u-form.

allauth's own Dutch translation uses "je/jouw" and some jargon; the rest of the site says "u".
English comes from the project's translation of these source strings.
"""

from allauth.account.adapter import DefaultAccountAdapter
from django.utils.translation import gettext_lazy as _


class AccountAdapter(DefaultAccountAdapter):
    error_messages = {
        **DefaultAccountAdapter.error_messages,
        "account_inactive": _("Dit account is uitgeschakeld. Neem contact op met de coördinator."),
        "cannot_remove_primary_email": _(
            "Dit is het e-mailadres waarmee u inlogt. Dat kunt u niet verwijderen."
        ),
        "duplicate_email": _("Dit e-mailadres hoort al bij uw account."),
        "email_password_mismatch": _(
            "Het e-mailadres of het wachtwoord klopt niet. Probeer het nog eens. "
            "Wachtwoord vergeten? Log dan in met een code per e-mail."
        ),
        "email_taken": _("Dit e-mailadres is al in gebruik bij een ander account."),
        "enter_current_password": _("Vul uw huidige wachtwoord in."),
        "incorrect_code": _("Deze code klopt niet. Kijk de code na en probeer het nog eens."),
        "incorrect_password": _("Dit wachtwoord klopt niet."),
        "invalid_or_expired_key": _("Deze link werkt niet meer. Vraag een nieuwe aan."),
        "invalid_password_reset": _(
            "Deze link om uw wachtwoord te herstellen werkt niet meer. Vraag een nieuwe aan."
        ),
        "too_many_login_attempts": _(
            "U heeft te vaak een verkeerd wachtwoord ingevuld. Wacht een paar minuten en probeer "
            "het dan opnieuw."
        ),
        "unknown_email": _("Dit e-mailadres kennen wij niet."),
        "unverified_primary_email": _("Bevestig eerst uw e-mailadres. Kijk in uw e-mail."),
        "same_as_current": _("Dit is hetzelfde als nu. Vul iets anders in."),
        "rate_limited": _("U heeft het te vaak geprobeerd. Wacht even en probeer het dan opnieuw."),
    }
