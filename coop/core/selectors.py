from django.db.models import QuerySet

from .models import OutboxMessage


def outbox_failed() -> QuerySet[OutboxMessage]:
    """E-mails that will not be tried again by themselves: someone has to look at them."""
    return OutboxMessage.objects.filter(
        channel=OutboxMessage.Channel.EMAIL, status=OutboxMessage.Status.FAILED
    )
