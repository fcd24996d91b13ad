"""Personas and shared fixtures. Every test runs on the database DATABASE_URL names."""

import contextvars
import os
import threading

import pytest
from django.contrib.auth import SESSION_KEY
from django.db import connection
from django.test import Client
from django.test.client import MULTIPART_CONTENT
from django.utils.functional import SimpleLazyObject
from django_scopes import scope

from coop.accounts.roles import Role
from coop.accounts.services import user_grant_roles
from coop.core.form_tokens import FORM_TOKEN_FIELD, form_token_new
from coop.core.models import Organisation
from members.services import member_link_user

from .factories import MemberFactory, UserFactory

# A thread a test starts works in the test's context, so inside its cooperative's scope, as the
# request or task it stands for would (contextvars are not passed to threads by themselves).
_thread_init, _thread_run = threading.Thread.__init__, threading.Thread.run


def _init_with_context(self, *args, **kwargs):
    _thread_init(self, *args, **kwargs)
    self._coop_context = contextvars.copy_context()


def _run_in_context(self):
    context = getattr(self, "_coop_context", None)
    if context is None:
        return _thread_run(self)
    return context.run(_thread_run, self)


threading.Thread.__init__ = _init_with_context  # type: ignore[method-assign]
threading.Thread.run = _run_in_context  # type: ignore[method-assign]

PERSONAS = [
    "anonymous",
    "outsider",
    "member",
    "volunteer",
    "buurtassistent",
    "coordinator",
    "treasurer",
    "admin",
]


def pytest_configure(config):
    if os.environ.get("COOP_REQUIRE_SERVICES") == "1":
        # In CI a missing service must fail the run, never skip tests quietly.
        if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
            raise pytest.UsageError("COOP_REQUIRE_SERVICES=1 but DATABASE_URL is not PostgreSQL")
        if not os.environ.get("REDIS_URL"):
            raise pytest.UsageError("COOP_REQUIRE_SERVICES=1 but REDIS_URL is not set")


@pytest.fixture(autouse=True)
def _organisation_scope():
    """Every test runs inside a cooperative's scope, as a request or a task does. The cooperative
    is read (or created) only when the test's first scoped query needs it."""
    with scope(organisation=SimpleLazyObject(Organisation.first_or_create)):
        yield


@pytest.fixture(autouse=True)
def _fast_and_eager(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.COOP_REQUIRE_MFA = False
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    # allauth keeps rate limits in the cache, which outlives a test.
    settings.ACCOUNT_RATE_LIMITS = False
    from coop.celery import app

    app.conf.task_always_eager = True


class FormTokenClient(Client):
    """The test client, sending with every form POST a fresh one-time form token (as the page's
    `{% form_token %}` would) unless the test gives one. Tests of double submissions give the
    same token each time; tests that a page carries the token read it from the page."""

    def form_token(self) -> str:
        user_id = self.session.get(SESSION_KEY)
        return form_token_new(user_id=int(user_id) if user_id else None)

    def post(self, path, data=None, *args, **kwargs):
        content_type = kwargs.get("content_type", args[0] if args else MULTIPART_CONTENT)
        form = {} if data is None else data
        if (
            content_type == MULTIPART_CONTENT
            and isinstance(form, dict)
            and FORM_TOKEN_FIELD not in form
        ):
            data = {**form, FORM_TOKEN_FIELD: self.form_token()}
        return super().post(path, data, *args, **kwargs)


@pytest.fixture
def client():
    return FormTokenClient()


@pytest.fixture
def on_postgres():
    if connection.vendor != "postgresql":
        pytest.fail("this test needs PostgreSQL (set DATABASE_URL)")


def make_persona(name: str):
    """A user for each persona; the member persona has a household of their own."""
    if name == "anonymous":
        return None
    user = UserFactory(email=f"{name}@example.org")
    if name == "member":
        member_link_user(member=MemberFactory(email=user.email), user=user)
    elif name == "admin":
        user.is_staff = user.is_superuser = True
        user.save()
    elif name != "outsider":
        user_grant_roles(user=user, roles=[Role(name)])
    return user


@pytest.fixture
def persona(db):
    return make_persona


@pytest.fixture
def coordinator(db):
    return make_persona("coordinator")


@pytest.fixture
def treasurer(db):
    return make_persona("treasurer")


@pytest.fixture
def member_user(db):
    return make_persona("member")


@pytest.fixture
def outsider(db):
    return make_persona("outsider")


@pytest.fixture
def coordinator_client(client, coordinator):
    client.force_login(coordinator)
    return client


@pytest.fixture
def member_client(client, member_user):
    client.force_login(member_user)
    return client
