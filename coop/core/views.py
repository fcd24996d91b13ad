"""The e-mails that could not be sent, for the coordinator and the treasurer to try again."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from coop.accounts.access import role_required
from coop.accounts.roles import Role

from . import selectors
from .models import OutboxMessage
from .services import outbox_retry

PAGE_SIZE = 50


@role_required(Role.COORDINATOR, Role.TREASURER)
def outbox_failed_list(request):
    paginator = Paginator(selectors.outbox_failed().order_by("-created_at", "-pk"), PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    return render(
        request,
        "core/outbox_failed.html",
        {"page": page, "paginator": paginator, "failed": page.object_list, "filter_query": ""},
    )


@role_required(Role.COORDINATOR, Role.TREASURER)
@require_POST
def outbox_retry_view(request, pk: int):
    message = get_object_or_404(OutboxMessage, pk=pk, channel=OutboxMessage.Channel.EMAIL)
    if outbox_retry(message_id=message.pk):
        messages.success(
            request,
            _("Het bericht aan %(name)s wordt opnieuw verstuurd.") % {"name": message.to_name},
        )
    else:
        messages.info(
            request,
            _("Het bericht aan %(name)s stond al niet meer bij de mislukte berichten.")
            % {"name": message.to_name},
        )
    return redirect("core:outbox_failed")
