"""Placeholder until this module is written."""

from django.http import HttpResponse

from coop.accounts.access import role_required
from coop.accounts.roles import Role


@role_required(Role.ADMIN)
def portal(request, *args, **kwargs):
    return HttpResponse(status=501)


@role_required(Role.ADMIN)
def portal_edit(request, *args, **kwargs):
    return HttpResponse(status=501)


@role_required(Role.ADMIN)
def portal_address(request, *args, **kwargs):
    return HttpResponse(status=501)


@role_required(Role.ADMIN)
def housemate_add(request, *args, **kwargs):
    return HttpResponse(status=501)


@role_required(Role.ADMIN)
def housemate_edit(request, *args, **kwargs):
    return HttpResponse(status=501)


@role_required(Role.ADMIN)
def housemate_remove(request, *args, **kwargs):
    return HttpResponse(status=501)


@role_required(Role.ADMIN)
def data_export(request, *args, **kwargs):
    return HttpResponse(status=501)

