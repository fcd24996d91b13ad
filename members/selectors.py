"""Reads, and the one place that decides which members and households a user may see."""

from django.http import Http404

from coop.accounts.models import User
from coop.accounts.roles import Role

from .models import Household, Member

REGISTER_ROLES = (Role.COORDINATOR, Role.TREASURER)


def member_for_user(user: User, pk: int) -> Member:
    """A member the user may see: coordinators and the treasurer see all, a member their household."""
    members = Member.objects.select_related("household", "household__buurt", "user")
    if not user.has_role(*REGISTER_ROLES):
        own = own_member(user)
        if own is None:
            raise Http404
        members = members.filter(household_id=own.household_id)
    try:
        return members.get(pk=pk)
    except Member.DoesNotExist:
        raise Http404 from None


def household_for_user(user: User, pk: int) -> Household:
    households = Household.objects.select_related("buurt")
    if not user.has_role(*REGISTER_ROLES):
        own = own_member(user)
        if own is None:
            raise Http404
        households = households.filter(pk=own.household_id)
    try:
        return households.get(pk=pk)
    except Household.DoesNotExist:
        raise Http404 from None


def own_member(user: User) -> Member | None:
    if not user.is_authenticated:
        return None
    return Member.objects.select_related("household", "household__buurt").filter(user=user).first()
