"""allauth signals: a confirmed sign-up enters the register; the member's e-mail follows the account."""

import logging

from allauth.account.signals import email_changed, email_confirmed
from django.dispatch import receiver

from .services import MembershipError, member_sync_account_email, signup_application_complete

logger = logging.getLogger(__name__)


def _sync(user, email: str) -> None:
    try:
        member_sync_account_email(user=user, email=email)
    except MembershipError as exc:
        # Another member already uses this address; a coordinator has to sort that out.
        logger.warning("Member e-mail for user %s not updated: %s", user.pk, exc)


@receiver(email_changed, dispatch_uid="members.email_changed")
def on_email_changed(sender, request, user, from_email_address, to_email_address, **kwargs):
    if to_email_address is not None:
        _sync(user, to_email_address.email)


@receiver(email_confirmed, dispatch_uid="members.email_confirmed")
def on_email_confirmed(sender, request, email_address, **kwargs):
    if email_address.primary:
        signup_application_complete(user=email_address.user)
        _sync(email_address.user, email_address.email)
