"""Where a request and a task get their cooperative's scope (see coop.core.tenancy).

Today an installation holds one cooperative, so both enter the scope of the installation's first
one; a request that names its cooperative (its path or domain) and the umbrella come next.
"""

from __future__ import annotations

from celery import Task
from django.utils.functional import SimpleLazyObject

from .models import Organisation
from .tenancy import organisation_scope, scope


class ScopeMiddleware:
    """Every request runs inside its cooperative's scope. The cooperative is read only when a
    query needs it, so a page without a scoped query costs no query for it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        organisation = SimpleLazyObject(Organisation.first_or_create)
        request.organisation = organisation
        with scope(organisation=organisation):
            return self.get_response(request)


class ScopedTask(Task):
    """A Celery task runs inside the scope of the cooperative that queued it (the `organisation`
    header `coop.lib.tasks.task_enqueue` sends); a periodic job, which no cooperative queued, in
    the installation's first one."""

    def __call__(self, *args, **kwargs):
        organisation_id = _header(self.request, "organisation")
        organisation = (
            Organisation.objects.filter(pk=organisation_id).first() if organisation_id else None
        )
        with organisation_scope(organisation):
            return super().__call__(*args, **kwargs)


def _header(request, name: str):
    value = getattr(request, name, None)
    if value is None:
        value = (getattr(request, "headers", None) or {}).get(name)
    return value
