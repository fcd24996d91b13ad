"""Placeholder until this module is written."""

from django.http import HttpResponse

from coop.accounts.access import role_required
from coop.accounts.roles import Role


@role_required(Role.ADMIN)
def member_import(request, *args, **kwargs):
    return HttpResponse(status=501)


@role_required(Role.ADMIN)
def member_import_preview(request, *args, **kwargs):
    return HttpResponse(status=501)

