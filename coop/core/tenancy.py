"""Tenancy: every row that belongs to a cooperative carries its organisation, and django-scopes
keeps queries inside one.

- A tenant model has `organisation = OrganisationField()` and `objects = TenantManager()` (or
  `TenantManager.from_queryset(TheQuerySet)()`): a query on it outside a scope raises
  `ScopeError`, inside one it sees only that cooperative's rows. A row created inside a scope
  belongs to the scope's cooperative.
- The request gets its scope from `ScopeMiddleware`, a Celery task from the `organisation` header
  that `coop.lib.tasks.task_enqueue` adds (see coop/celery.py), a management command or the demo
  from `organisation_scope()`. Code that must see every cooperative (a migration, a platform
  operator's report) says so with `scopes_disabled()`.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, cast

from django.db import models
from django_scopes import get_scope, scope, scopes_disabled
from django_scopes.manager import DisabledQuerySet

if TYPE_CHECKING:  # the models import this module for their fields
    from .models import Organisation

__all__ = [
    "OrganisationField",
    "organisation_scope",
    "scope",
    "scope_organisation",
    "scope_organisation_id",
    "TenantManager",
    "scopes_disabled",
]


def scope_organisation() -> Organisation | None:
    """The cooperative whose scope is active, if any."""
    return get_scope().get("organisation")


def scope_organisation_id() -> int | None:
    """The default of every `organisation` field: the active scope's cooperative. Outside a scope
    there is none, and saving the row fails on its NOT NULL column."""
    organisation = scope_organisation()
    return organisation.pk if organisation is not None else None


class OrganisationField(models.ForeignKey):
    """The cooperative a row belongs to; filled from the active scope."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("to", "core.Organisation")
        kwargs.setdefault("on_delete", models.PROTECT)
        kwargs.setdefault("related_name", "+")
        kwargs.setdefault("default", scope_organisation_id)
        kwargs.setdefault("editable", False)
        # No index of its own: most rows are of one cooperative, and PostgreSQL, misled by a
        # column that hardly narrows anything, would combine it with the index that does (a
        # statement import took twice as long). Keys that need it lead with it instead.
        kwargs.setdefault("db_index", False)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, _path, args, kwargs = super().deconstruct()
        return name, "django.db.models.ForeignKey", args, kwargs


class TenantManager(models.Manager):
    """The manager of a tenant model: django-scopes' ScopedManager on the `organisation`
    dimension, written as a class so that type checkers know the model's manager (and its
    queryset's own methods, through `TenantManager.from_queryset`)."""

    _override_scope: dict | None = None

    def get_queryset(self):
        current = self._override_scope if self._override_scope is not None else get_scope()
        queryset = super().get_queryset()
        if not current.get("_enabled", True):
            return queryset
        if "organisation" not in current:
            return DisabledQuerySet(self.model, using=self._db, missing_scopes={"organisation"})
        value = current["organisation"]
        if isinstance(value, list | tuple):
            return queryset.filter(organisation__in=value)
        return queryset if value is None else queryset.filter(organisation=value)

    def all(self):
        queryset = super().all()
        return queryset.all() if isinstance(queryset, DisabledQuerySet) else queryset

    def with_scopes_disabled(self):
        """This manager, seeing every cooperative's rows (a platform operator's report)."""
        clone = copy.copy(self)
        clone._override_scope = {"_enabled": False}
        return clone


@contextmanager
def organisation_scope(organisation: Organisation | None = None) -> Iterator[Organisation]:
    """Work inside one cooperative's scope: the given one, else the installation's first (today an
    installation holds one cooperative; creating it when there is none yet)."""
    from django.utils.functional import SimpleLazyObject

    from .models import Organisation

    # Without one: read when a query first needs it (a command may migrate the database first).
    active = organisation or cast(Organisation, SimpleLazyObject(Organisation.first_or_create))
    with scope(organisation=active):
        yield active
