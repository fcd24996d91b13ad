from collections.abc import Sequence

from django.db import transaction

from .models import User, role_group
from .roles import Role


@transaction.atomic
def user_grant_roles(*, user: User, roles: list[Role | str]) -> None:
    user.groups.add(*(role_group(role) for role in roles))
    user.__dict__.pop("roles", None)


@transaction.atomic
def user_revoke_role(*, user: User, role: Role | str) -> None:
    user.groups.remove(role_group(role))
    user.__dict__.pop("roles", None)


@transaction.atomic
def user_create(
    *,
    email: str,
    password: str | None = None,
    roles: Sequence[Role | str] = (),
    verified: bool = False,
) -> User:
    """Create a login; `verified` marks the address confirmed (for accounts a coordinator sets up)."""
    from allauth.account.models import EmailAddress

    user = User.objects.create_user(email=email, password=password)
    if password is None:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=verified)
    if roles:
        user_grant_roles(user=user, roles=list(roles))
    return user
