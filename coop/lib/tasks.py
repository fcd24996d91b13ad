"""Queueing background work from a service without importing the task module back.

A task module imports the services it calls; a service that must queue work names the task
instead (`"finance.tasks.receipts_send_task"`), so no services module imports a tasks module and
no import runs in a circle. The task is sent once the surrounding transaction commits, so it never
runs before the rows it needs exist (pretix's TransactionAwareTask); outside a transaction it is
sent at once, with the queueing cooperative's id as a header. With CELERY_TASK_ALWAYS_EAGER (the
embedded demo) it runs in-process, as `delay` does.
"""

from __future__ import annotations

import importlib
from typing import Any

from celery import current_app
from django.db import transaction
from django_scopes import get_scope


def task_enqueue(name: str, *args: Any, robust: bool = False) -> None:
    """Send the task called `name` with `args` when the current transaction commits.

    `robust`: a failure to send (broker down) is logged instead of raised, for work that the
    periodic safety nets pick up again anyway.
    """
    if name not in current_app.tasks:
        # Web processes never ran the worker's autodiscovery; load the task's module by name.
        importlib.import_module(name.rpartition(".")[0])
    task = current_app.tasks[name]  # still unknown: a programming error, raised here and now
    # The task runs in the scope of the cooperative that queued it (coop.core.scoping.ScopedTask).
    organisation = get_scope().get("organisation")
    headers = {"organisation": organisation.pk} if organisation is not None else {}
    transaction.on_commit(lambda: task.apply_async(args, headers=headers), robust=robust)
