from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from coop.accounts.access import public, role_required
from coop.accounts.roles import Role
from coop.core.models import OutboxMessage
from coop.core.selectors import outbox_failed
from coop.core.services import outbox_retry

from . import selectors


@public
def home(request):
    """The front door: visitors see what the cooperative is; people with a role go to their work."""
    user = request.user
    if user.is_authenticated:
        if user.has_role(Role.COORDINATOR, Role.TREASURER):
            return redirect("dashboard:coordinator")
        if user.has_role(Role.MEMBER):
            return redirect("members:portal")
        return render(request, "reports/home_account.html")
    return render(request, "reports/home_public.html")


@public
def healthz(request):
    """For load balancers and the benchmark's baseline: no database, no template."""
    return HttpResponse("ok", content_type="text/plain")


@role_required(Role.COORDINATOR, Role.TREASURER)
def coordinator_dashboard(request):
    return render(request, "reports/coordinator.html", selectors.member_overview())


# The e-mails that could not be sent, for the coordinator and the treasurer to try again.

PAGE_SIZE = 50


@role_required(Role.COORDINATOR, Role.TREASURER)
def outbox_failed_list(request):
    paginator = Paginator(outbox_failed().order_by("-created_at", "-pk"), PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    return render(
        request,
        "reports/outbox_failed.html",
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
    return redirect("dashboard:outbox_failed")
