"""Pages anyone may read, without logging in: the privacy statement."""

from django.shortcuts import render

from coop.accounts.access import public

from ..selectors import PRIVACY_KEY, consent_text_current


@public
def privacy_statement(request):
    """The newest version of the privacy statement, as people agree to it when they join."""
    return render(
        request, "members/privacy_statement.html", {"text": consent_text_current(PRIVACY_KEY)}
    )
