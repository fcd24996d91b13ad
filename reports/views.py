from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from coop.accounts.access import public, role_required
from coop.accounts.roles import Role
from coop.core.models import OutboxMessage
from coop.core.selectors import outbox_failed
from coop.core.services import outbox_retry
from finance.selectors import membership_cost
from finance.sepa_selectors import call_list_summary
from members.selectors import PRIVACY_KEY, consent_text_current

from . import selectors

# Where each role's work starts, first match wins: someone with several roles lands on the first
# and reaches the others through the menu. The login sends everyone here (LOGIN_REDIRECT_URL).
LANDING_PAGES = (
    (Role.TREASURER, "finance:finance_overview"),
    (Role.COORDINATOR, "dashboard:coordinator"),
    (Role.MEMBER, "members:portal"),
)


@public
def home(request):
    """The front door: visitors see what the cooperative is; people with a role go to their work."""
    user = request.user
    if user.is_authenticated:
        for role, url_name in LANDING_PAGES:
            if user.has_role(role):
                return redirect(url_name)
        return render(request, "reports/home_account.html")
    context = {
        "cost": membership_cost(today=timezone.localdate()),
        "privacy": consent_text_current(PRIVACY_KEY),
    }
    return render(request, "reports/home_public.html", context)


@public
def healthz(request):
    """For load balancers and the benchmark's baseline: no database, no template."""
    return HttpResponse("ok", content_type="text/plain")


@role_required(Role.COORDINATOR, Role.TREASURER)
def coordinator_dashboard(request):
    context = selectors.member_overview()
    context["calls"] = call_list_summary(today=timezone.localdate())
    return render(request, "reports/coordinator.html", context)


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
