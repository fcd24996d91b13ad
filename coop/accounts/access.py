"""Who may use a view. Every view in the project declares one of these (a test checks it).

- `public`: anyone, logged in or not.
- `logged_in`: any account.
- `role_required(...)`: accounts with one of the roles; others get 403.
"""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied

ACCESS_ATTR = "coop_access"


def public(view: Callable) -> Callable:
    view = login_not_required(view)
    setattr(view, ACCESS_ATTR, "public")
    return view


def logged_in(view: Callable) -> Callable:
    setattr(view, ACCESS_ATTR, "logged_in")
    return view


def role_required(*roles: str) -> Callable[[Callable], Callable]:
    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.has_role(*roles):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        setattr(wrapped, ACCESS_ATTR, ("roles", frozenset(roles)))
        return wrapped

    return decorator
