"""Settings come from the environment and refuse values they cannot use."""

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent
SHOW = (
    "import django; django.setup(); from django.conf import settings as s; "
    "print(s.DEBUG, s.DATABASES['default']['ENGINE'], s.CELERY_TASK_ALWAYS_EAGER, "
    "s.EMAIL_BACKEND, s.COOP_REQUIRE_MFA)"
)
PRODUCTION = {"DEBUG": "0", "SECRET_KEY": secrets.token_urlsafe(50), "ALLOWED_HOSTS": "example.org"}


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    """Python in a clean environment: only what a shell needs, plus `env`."""
    clean = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
    clean.update(DJANGO_SETTINGS_MODULE="coop.settings", **env)
    return subprocess.run(
        args or (sys.executable, "-c", SHOW),
        cwd=BASE_DIR,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_nothing_set_runs_embedded():
    result = run({})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "True",
        "django.db.backends.sqlite3",
        "True",
        "django.core.mail.backends.console.EmailBackend",
        "False",
    ]


def test_production_values_are_accepted():
    result = run(
        {**PRODUCTION, "DATABASE_URL": "postgres://u@db/coop", "REDIS_URL": "redis://redis:6379/0"}
    )
    assert result.returncode == 0, result.stderr
    debug, engine, eager, _backend, mfa = result.stdout.split()
    assert (debug, engine, eager, mfa) == (
        "False",
        "django.db.backends.postgresql",
        "False",
        "True",
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DEBUG": "maybe"}, "DEBUG='maybe' is not a yes/no value"),
        ({"DATABASE_URL": "mysql://root@localhost/coop"}, "DATABASE_URL must start with"),
        ({"REDIS_URL": "http://localhost:6379"}, "REDIS_URL must start with"),
        ({"DEBUG": "0", "ALLOWED_HOSTS": "example.org"}, "SECRET_KEY must be set"),
        ({"DEBUG": "0", "SECRET_KEY": PRODUCTION["SECRET_KEY"]}, "ALLOWED_HOSTS must be set"),
        (
            {"EMAIL_HOST": "smtp.example.org", "EMAIL_PORT": "twenty-five"},
            "EMAIL_PORT='twenty-five'",
        ),
        ({"COOP_REQUIRE_MFA": "sometimes"}, "COOP_REQUIRE_MFA='sometimes'"),
    ],
    ids=["debug", "database", "redis", "secret-key", "allowed-hosts", "email-port", "mfa"],
)
def test_bad_values_fail_loudly(env, message):
    result = run(env, sys.executable, "-c", "import coop.settings")
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr


def test_deploy_check_with_production_values_has_no_warnings():
    result = run(
        {
            **PRODUCTION,
            "DATABASE_URL": "postgres://u@db/coop",
            "REDIS_URL": "redis://redis:6379/0",
            "MOLLIE_API_KEY": "test_no_network_calls",
            "SITE_URL": "https://leden.example.org",
        },
        sys.executable,
        "manage.py",
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_deploy_check_notices_an_insecure_setting():
    """The check above can fail: switching HSTS off is reported."""
    result = run(
        {**PRODUCTION, "SECURE_HSTS_SECONDS": "0"},
        sys.executable,
        "manage.py",
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
    )
    assert result.returncode != 0
    assert "security.W004" in result.stderr + result.stdout


def test_env_example_lists_every_variable_the_settings_read():
    source = (BASE_DIR / "coop" / "settings.py").read_text()
    read = set(re.findall(r"env_(?:str|bool|int|list|url)\(\s*\"([A-Z][A-Z0-9_]*)\"", source))
    listed = set(
        re.findall(r"^#? ?([A-Z][A-Z0-9_]*)=", (BASE_DIR / ".env.example").read_text(), re.M)
    )
    assert {"DEBUG", "SECRET_KEY", "DATABASE_URL", "REDIS_URL"} <= read
    assert read <= listed, f"missing from .env.example: {sorted(read - listed)}"
