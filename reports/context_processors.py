from django.utils import timezone

from coop.accounts.roles import Role
from coop.core.selectors import outbox_failed
from finance.sepa_selectors import call_list_count


def outbox(request):
    """The count of failed e-mails for the menu, only for the people who can act on them."""
    user = getattr(request, "user", None)
    if (
        user is None
        or not user.is_authenticated
        or not user.has_role(Role.COORDINATOR, Role.TREASURER)
    ):
        return {}
    return {"outbox_failed_count": outbox_failed().count()}


def call_list(request):
    """How many invoices wait for a call, for the menu: one COUNT, for the people who call."""
    user = getattr(request, "user", None)
    if (
        user is None
        or not user.is_authenticated
        or not user.has_role(Role.COORDINATOR, Role.TREASURER)
    ):
        return {}
    return {"call_list_count": call_list_count(today=timezone.localdate())}
