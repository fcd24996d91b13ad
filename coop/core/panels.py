"""Panels that apps higher up add to the coordinator's household and member pages.

The household and member pages belong to `members`, which sits below `finance` and cannot ask
it whether the household paid this year's contribution. So the registry lives here, at the
bottom, like the one for "download my data" (`coop.core.personal_data`): an app registers a
panel from its AppConfig.ready(), and the members pages render whatever is registered
without knowing which apps exist.

The contract for an app adding a panel:

- ``key`` is unique, lower snake_case; the page uses it for the panel's heading id.
- ``template`` is the template the page includes for the panel; it gets the function's answer
  as ``panel`` (and the page's own context: ``household``, ``member`` on the member page).
- The function is called with the ``members.Household`` and, as a keyword, the ``user`` looking
  at the page (a coordinator or the treasurer: the pages check that first). It returns a dict
  for the template, or None to show nothing (for instance when this user may not see it).
- It costs one or two queries, whatever the household holds: the pages' query count is fixed.
- It shows what everyone who opens the page may see. Coordinators see whether the household
  paid, never bank details (IBAN, mandate); a link to more for the treasurer is fine.

Panels appear in the order they were registered, which follows INSTALLED_APPS and so the layers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.core.exceptions import ImproperlyConfigured

Provide = TypeVar("Provide", bound=Callable[..., "dict[str, Any] | None"])


@dataclass(frozen=True)
class HouseholdPanel:
    key: str
    template: str
    provide: Callable[..., dict[str, Any] | None]


@dataclass(frozen=True)
class RenderedPanel:
    key: str
    template: str
    context: dict[str, Any]


_panels: dict[str, HouseholdPanel] = {}


def _origin(func: Callable[..., Any]) -> str:
    return f"{func.__module__}.{func.__qualname__}"


def register_household_panel(key: str, *, template: str) -> Callable[[Provide], Provide]:
    """Add a panel under `key`. The same function registering again (a module imported twice)
    replaces itself; another function claiming a taken key is a programming error."""

    def decorator(provide: Provide) -> Provide:
        existing = _panels.get(key)
        if existing is not None and _origin(existing.provide) != _origin(provide):
            raise ImproperlyConfigured(
                f"Household panel {key!r} is already taken by {_origin(existing.provide)}"
            )
        _panels[key] = HouseholdPanel(key=key, template=template, provide=provide)
        return provide

    return decorator


def household_panels_registered() -> list[HouseholdPanel]:
    return list(_panels.values())


def household_panels(household: Any, *, user: Any) -> list[RenderedPanel]:
    """The panels to show for a household to this user, in registration order."""
    rendered = []
    for panel in _panels.values():
        context = panel.provide(household, user=user)
        if context is not None:
            rendered.append(RenderedPanel(key=panel.key, template=panel.template, context=context))
    return rendered
