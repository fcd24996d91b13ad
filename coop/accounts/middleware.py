"""The second factor, enforced on every request.

- Anyone with an authenticator app must have used it in this session: a session that logged in
  some other way (a password alone, an old session from before the app was set up) is logged out
  and sent to the login page, which asks for the code.
- Coordinators, treasurers and admins without an authenticator, when it is required, can reach
  only what setting one up needs, and logging out.
"""

from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import logout
from django.shortcuts import redirect
from django.urls import reverse

from .roles import STAFF_ROLES

# What a staff member without an authenticator may open: setting it up, the password check
# allauth asks before that, confirming an e-mail address, the language switch and logging out.
SETUP_URL_NAMES = frozenset(
    {
        "mfa_activate_totp",
        "mfa_index",
        "account_reauthenticate",
        "account_confirm_email",
        "account_logout",
        "set_language",
    }
)
_STATIC_PREFIXES = ("/static/",)


class RequireMFAMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if (
            user.is_authenticated
            and not request.path.startswith(_STATIC_PREFIXES)
            and _has_authenticator(user)
            and not mfa_passed(request)
        ):
            logout(request)
            return redirect(f"{reverse('account_login')}?{urlencode({'next': request.path})}")
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        user = request.user
        if not (
            settings.COOP_REQUIRE_MFA and user.is_authenticated and user.has_role(*STAFF_ROLES)
        ):
            return None
        if request.resolver_match.url_name in SETUP_URL_NAMES or _has_authenticator(user):
            return None
        return redirect(reverse("mfa_activate_totp"))


def mfa_passed(request) -> bool:
    """Whether this session's login (or a later step) used the second factor."""
    from allauth.account.authentication import get_authentication_records

    return any(
        record.get("method") == "mfa"
        for record in get_authentication_records(request, request.user)
    )


def _has_authenticator(user) -> bool:
    cached = getattr(user, "_coop_has_authenticator", None)
    if cached is None:
        from allauth.mfa.models import Authenticator

        cached = Authenticator.objects.filter(
            user=user, type__in=[Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN]
        ).exists()
        user._coop_has_authenticator = cached
    return cached
