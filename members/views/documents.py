"""Placeholder until this module is written."""

from django.http import HttpResponse

from coop.accounts.access import role_required
from coop.accounts.roles import Role


@role_required(Role.ADMIN)
def member_welcome_letter(request, *args, **kwargs):
    return HttpResponse(status=501)


@role_required(Role.ADMIN)
def buurt_member_list_pdf(request, *args, **kwargs):
    return HttpResponse(status=501)


@role_required(Role.ADMIN)
def letter_list(request, *args, **kwargs):
    return HttpResponse(status=501)


@role_required(Role.ADMIN)
def letter_print(request, *args, **kwargs):
    return HttpResponse(status=501)

