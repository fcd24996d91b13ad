"""Personas and shared fixtures. Every test runs on the database DATABASE_URL names."""

import os

import pytest
from django.db import connection

from coop.accounts.roles import Role
from coop.accounts.services import user_grant_roles
from members.services import member_link_user

from .factories import MemberFactory, UserFactory

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
def _fast_and_eager(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.COOP_REQUIRE_MFA = False
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    # allauth keeps rate limits in the cache, which outlives a test.
    settings.ACCOUNT_RATE_LIMITS = False
    from coop.celery import app

    app.conf.task_always_eager = True


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
