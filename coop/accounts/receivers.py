"""allauth signals: setting up an authenticator app counts as using it in this session."""

from allauth.mfa.signals import authenticator_added
from django.dispatch import receiver


@receiver(authenticator_added, dispatch_uid="accounts.authenticator_added")
def on_authenticator_added(sender, request, user, authenticator, **kwargs):
    # The person just typed a code from the new app; without this record the session would be
    # logged out on the next page for not having passed the second factor.
    from allauth.account.internal.flows.login import record_authentication

    if request is not None:
        record_authentication(request, user, "mfa", id=authenticator.pk, type=authenticator.type)
