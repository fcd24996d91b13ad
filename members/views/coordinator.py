"""Placeholder until this module is written."""

from django.http import HttpResponse

from coop.accounts.access import role_required
from coop.accounts.roles import Role


@role_required(Role.ADMIN)
def member_list(request, *args, **kwargs):
    return HttpResponse(status=501)


@role_required(Role.ADMIN)
def member_export_csv(request, *args, **kwargs):
    return HttpResponse(status=501)


@role_required(Role.ADMIN)
def member_export_xlsx(request, *args, **kwargs):
    return HttpResponse(status=501)


@role_required(Role.ADMIN)
def member_create(request, *args, **kwargs):
    return HttpResponse(status=501)


@role_required(Role.ADMIN)
def member_detail(request, *args, **kwargs):
    return HttpResponse(status=501)


@role_required(Role.ADMIN)
def member_edit(request, *args, **kwargs):
    return HttpResponse(status=501)


@role_required(Role.ADMIN)
def member_status(request, *args, **kwargs):
    return HttpResponse(status=501)


@role_required(Role.ADMIN)
def member_move(request, *args, **kwargs):
    return HttpResponse(status=501)


@role_required(Role.ADMIN)
def household_detail(request, *args, **kwargs):
    return HttpResponse(status=501)


@role_required(Role.ADMIN)
def household_edit(request, *args, **kwargs):
    return HttpResponse(status=501)


@role_required(Role.ADMIN)
def buurt_list(request, *args, **kwargs):
    return HttpResponse(status=501)


@role_required(Role.ADMIN)
def buurt_detail(request, *args, **kwargs):
    return HttpResponse(status=501)


@role_required(Role.ADMIN)
def postcode_range_delete(request, *args, **kwargs):
    return HttpResponse(status=501)

