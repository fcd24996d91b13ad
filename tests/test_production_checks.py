"""Production guards: no demo stand-ins and no cache of one process once DEBUG is off.

The subprocess tests start Django the way production does (settings from the environment); the
in-process ones change one setting at a time.
"""

import sys

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

from .test_settings import PRODUCTION, run

REDIS = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://r:6379/0"}
LOCMEM = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
SERVED = {
    **PRODUCTION,
    "DATABASE_URL": "postgres://u@db/coop",
    "REDIS_URL": "redis://redis:6379/0",
    "MOLLIE_API_KEY": "test_no_network_calls",
    "SITE_URL": "https://leden.example.org",
}


def deploy_check(env: dict[str, str]):
    result = run(env, sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING")
    return result.returncode, result.stdout + result.stderr


# As production starts: the environment ---------------------------------------------------------


def test_production_as_ci_runs_it_passes_the_deploy_check():
    returncode, output = deploy_check(SERVED)
    assert returncode == 0, output
    assert "no issues" in output


def test_without_a_mollie_key_the_deploy_check_fails_on_the_demo_provider():
    env = {k: v for k, v in SERVED.items() if k != "MOLLIE_API_KEY"}
    returncode, output = deploy_check(env)
    assert returncode != 0
    assert "finance.E004" in output
    assert "MOLLIE_API_KEY" in output


def test_coop_demo_without_debug_fails_the_deploy_check():
    returncode, output = deploy_check({**SERVED, "COOP_DEMO": "1"})
    assert returncode != 0
    assert "finance.E005" in output
    assert "finance.E004" not in output
    returncode, output = deploy_check({**SERVED, "COOP_DEMO": "1", "PAYMENT_PROVIDER": "demo"})
    assert "finance.E004" in output and "finance.E005" in output


def test_the_demo_with_debug_on_is_no_deploy_error():
    """scripts/demo runs with DEBUG=1 and COOP_DEMO=1 and no Mollie key."""
    env = {"DEBUG": "1", "COOP_DEMO": "1"}
    result = run(env, sys.executable, "manage.py", "check", "--deploy")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "finance.E00" not in result.stdout + result.stderr


def test_without_redis_any_command_with_debug_off_refuses_the_local_cache():
    env = {k: v for k, v in SERVED.items() if k != "REDIS_URL"}
    returncode, output = deploy_check(env)
    assert returncode != 0
    assert "accounts.E001" in output
    # Not only the deploy check: `migrate` and `runserver` run it too.
    result = run(env, sys.executable, "manage.py", "check")
    assert result.returncode != 0
    assert "accounts.E001" in result.stdout + result.stderr


def test_the_database_cache_is_a_shared_cache():
    env = {k: v for k, v in SERVED.items() if k != "REDIS_URL"}
    returncode, output = deploy_check({**env, "CACHE_BACKEND": "database"})
    assert returncode == 0, output


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"CACHE_BACKEND": "redis"}, "CACHE_BACKEND=redis needs REDIS_URL"),
        ({"CACHE_BACKEND": "memcached"}, "CACHE_BACKEND must be redis, database or local"),
    ],
)
def test_a_cache_backend_that_cannot_work_fails_loudly(env, message):
    result = run(env, sys.executable, "-c", "import coop.settings")
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr


def test_the_cache_follows_the_environment():
    show = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.CACHES['default']['BACKEND'])"
    )
    cases = {
        (): "django.core.cache.backends.locmem.LocMemCache",
        (("REDIS_URL", "redis://r:6379/0"),): "django.core.cache.backends.redis.RedisCache",
        (("CACHE_BACKEND", "database"),): "django.core.cache.backends.db.DatabaseCache",
        (
            ("REDIS_URL", "redis://r:6379/0"),
            ("CACHE_BACKEND", "database"),
        ): "django.core.cache.backends.db.DatabaseCache",
    }
    for env, backend in cases.items():
        result = run(dict(env), sys.executable, "-c", show)
        assert result.stdout.strip() == backend, (env, result.stderr)


# One setting at a time ---------------------------------------------------------------------


def _errors(**options) -> str:
    """The check's error ids, or '' when it passes."""
    try:
        call_command("check", **options)
    except SystemCheckError as exc:
        return str(exc)
    return ""


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"PAYMENT_PROVIDER": "demo", "COOP_DEMO": False}, ["finance.E004"]),
        ({"PAYMENT_PROVIDER": "demo", "COOP_DEMO": True}, ["finance.E004", "finance.E005"]),
        ({"PAYMENT_PROVIDER": "mollie", "COOP_DEMO": True}, ["finance.E005"]),
        ({"PAYMENT_PROVIDER": "mollie", "COOP_DEMO": False}, []),
    ],
)
def test_deploy_check_on_the_demo_stand_ins(changes, expected):
    production = {
        "DEBUG": False,
        "MOLLIE_API_KEY": "test_x",
        "CACHES": {"default": REDIS},
        "SITE_URL": "https://leden.example.org",
    }
    with override_settings(**production, **changes):
        errors = _errors(deploy=True, tags=["finance"])
    for code in ["finance.E004", "finance.E005"]:
        assert (code in errors) == (code in expected), errors


def test_the_demo_stand_ins_are_no_error_with_debug_on():
    with override_settings(DEBUG=True, PAYMENT_PROVIDER="demo", COOP_DEMO=True):
        assert _errors(deploy=True, tags=["finance"]) == ""


def test_the_demo_check_is_a_deploy_check_only():
    """gunicorn runs no checks and `migrate` no deploy checks: a demo server with DEBUG off
    (COOP_DEMO=1) still starts; only `check --deploy` says it is no production."""
    with override_settings(DEBUG=False, PAYMENT_PROVIDER="demo", COOP_DEMO=True):
        assert "finance.E00" not in _errors(tags=["finance"])


@pytest.mark.parametrize(
    ("backend", "refused"),
    [
        ("django.core.cache.backends.locmem.LocMemCache", True),
        ("django.core.cache.backends.dummy.DummyCache", True),
        ("django.core.cache.backends.filebased.FileBasedCache", True),
        ("django.core.cache.backends.redis.RedisCache", False),
        ("django.core.cache.backends.db.DatabaseCache", False),
    ],
)
def test_with_debug_off_the_cache_must_be_shared(backend, refused, tmp_path):
    location = str(tmp_path) if "filebased" in backend else "somewhere"
    with override_settings(
        DEBUG=False, CACHES={"default": {"BACKEND": backend, "LOCATION": location}}
    ):
        errors = _errors(tags=["caches"])
    assert ("accounts.E001" in errors) == refused, errors


def test_with_debug_on_a_local_cache_is_fine():
    with override_settings(DEBUG=True, CACHES={"default": LOCMEM}):
        assert _errors(tags=["caches"]) == ""


# SITE_URL: the address links in e-mails, PDFs and letters use ---------------------------------


def test_without_site_url_the_deploy_check_fails():
    env = {k: v for k, v in SERVED.items() if k != "SITE_URL"}
    returncode, output = deploy_check(env)
    assert returncode != 0
    assert "finance.E006" in output
    assert "SITE_URL" in output
    returncode, output = deploy_check({**SERVED, "SITE_URL": "http://localhost:8000"})
    assert returncode != 0
    assert "finance.E006" in output


@pytest.mark.parametrize(
    ("site_url", "refused"),
    [
        ("http://127.0.0.1:8000", True),
        ("http://localhost", True),
        ("https://wijkcoop.localhost", True),
        ("http://[::1]:8000", True),
        ("", True),
        ("https://leden.example.org", False),
        ("https://example.org:8443", False),
    ],
)
def test_deploy_check_on_site_url(site_url, refused):
    production = {"DEBUG": False, "MOLLIE_API_KEY": "test_x", "CACHES": {"default": REDIS}}
    with override_settings(**production, SITE_URL=site_url):
        errors = _errors(deploy=True, tags=["finance"])
    assert ("finance.E006" in errors) == refused, errors


def test_site_url_is_no_error_with_debug_on():
    with override_settings(DEBUG=True, SITE_URL="http://127.0.0.1:8000"):
        assert "finance.E006" not in _errors(deploy=True, tags=["finance"])
