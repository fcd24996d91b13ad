from coop.accounts.roles import Role
from coop.core.selectors import outbox_failed


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
