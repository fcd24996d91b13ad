from django.http import HttpResponse
from django.shortcuts import redirect, render

from coop.accounts.access import public, role_required
from coop.accounts.roles import Role

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
