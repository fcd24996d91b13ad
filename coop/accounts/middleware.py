from django.conf import settings
from django.shortcuts import redirect
from django.urls import reverse

from .roles import STAFF_ROLES

_ALLOWED_PREFIXES = ("/accounts/", "/static/", "/i18n/")


class RequireMFAMiddleware:
    """Send coordinators, treasurers and admins without a TOTP authenticator to set one up."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if (
            settings.COOP_REQUIRE_MFA
            and user.is_authenticated
            and user.has_role(*STAFF_ROLES)
            and not request.path.startswith(_ALLOWED_PREFIXES)
            and not _has_totp(user)
        ):
            return redirect(reverse("mfa_activate_totp"))
        return self.get_response(request)


def _has_totp(user) -> bool:
    from allauth.mfa.models import Authenticator

    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
