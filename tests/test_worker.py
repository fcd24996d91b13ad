"""A real Celery worker process on real Redis delivers the welcome e-mail exactly once.

The worker is `celery -A coop worker` in a subprocess, on the test database and a dedicated Redis
database (number 15 of the Redis that REDIS_URL names; purged first). An unreachable Redis fails
the test: this is the check that the stack works, so it must never be skipped quietly.
"""

import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import pytest
import redis
from django.conf import settings as django_settings
from django.db import connection

from coop.core.models import OutboxMessage
from coop.core.tasks import outbox_send
from members.models import Member
from members.services import member_change_status

from .factories import MemberFactory

pytestmark = pytest.mark.worker

REDIS_TEST_DB = 15
WAIT_SECONDS = 30


def _worker_redis_url() -> str:
    base = os.environ.get("REDIS_URL") or f"redis://127.0.0.1:6379/{REDIS_TEST_DB}"
    parts = urlsplit(base)
    return urlunsplit((parts.scheme, parts.netloc, f"/{REDIS_TEST_DB}", parts.query, ""))


def _test_database_url() -> str:
    db = connection.settings_dict
    if connection.vendor != "postgresql":
        pytest.fail(
            "The worker test needs the test database on PostgreSQL, shared with the worker "
            "process: set DATABASE_URL=postgres://..."
        )
    credentials = quote(db["USER"] or "", safe="")
    if db.get("PASSWORD"):
        credentials += ":" + quote(db["PASSWORD"], safe="")
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return f"postgres://{credentials}@{host}:{port}/{db['NAME']}"


class Worker:
    def __init__(self, process: subprocess.Popen, log_path: Path, mail_dir: Path):
        self.process = process
        self.log_path = log_path
        self.mail_dir = mail_dir

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def mail_files(self) -> list[Path]:
        return sorted(path for path in self.mail_dir.iterdir() if path.is_file())

    def wait_for(self, condition, what: str, timeout: float = WAIT_SECONDS):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = condition()
            if result:
                return result
            if self.process.poll() is not None:
                code = self.process.returncode
                pytest.fail(
                    f"The Celery worker exited ({code}) while waiting for {what}:\n{self.log()}"
                )
            time.sleep(0.2)
        pytest.fail(
            f"Timed out after {timeout:.0f} s waiting for {what}. Worker log:\n{self.log()}"
        )


def _forget_broker_connections(app) -> None:
    """The app builds its connection and producer pools from broker_url on first use; drop them."""
    if app._pool is not None:
        app._pool.force_close_all()
        app._pool = None
    if "amqp" in app.__dict__:
        app.amqp._producer_pool = None


def _require_redis() -> str:
    """The dedicated Redis database, emptied; fails (never skips) when Redis is unreachable."""
    url = _worker_redis_url()
    client = redis.Redis.from_url(url, socket_connect_timeout=3)
    try:
        client.ping()
        client.flushdb()
    except redis.RedisError as exc:
        pytest.fail(
            f"Redis at {url} is unreachable ({exc}). The worker test needs a running Redis: "
            "start one or set REDIS_URL=redis://host:port/."
        )
    finally:
        client.close()
    return url


def _start_worker(*, redis_url: str, directory: Path) -> Worker:
    mail_dir = directory / "mail"
    mail_dir.mkdir()
    log_path = directory / "worker.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "coop.settings",
        "DATABASE_URL": _test_database_url(),
        "REDIS_URL": redis_url,
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(mail_dir),
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("EMAIL_HOST", None)
    command = [sys.executable, "-m", "celery", "-A", "coop", "worker"]
    command += ["--pool=solo", "--concurrency=1", "-l", "info"]
    command += ["--without-mingle", "--without-gossip"]
    command += ["--hostname", f"test-{os.getpid()}@%h"]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, cwd=django_settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    return Worker(process, log_path, mail_dir)


@pytest.fixture
def celery_worker(transactional_db, settings, tmp_path):
    """Starts a worker process on request; this process then sends its tasks to the same Redis.

    The worker is always stopped, and the app's settings restored, when the test ends.
    """
    from coop.celery import app

    saved = {key: app.conf[key] for key in ("task_always_eager", "broker_url")}
    workers: list[Worker] = []

    def start(redis_url: str) -> Worker:
        worker = _start_worker(redis_url=redis_url, directory=tmp_path)
        workers.append(worker)
        settings.CELERY_TASK_ALWAYS_EAGER = False
        app.conf.task_always_eager = False
        app.conf.broker_url = redis_url
        _forget_broker_connections(app)
        worker.wait_for(lambda: " ready." in worker.log(), "the worker to start")
        return worker

    yield start

    for worker in workers:
        worker.process.terminate()
        try:
            worker.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            worker.process.kill()
            worker.process.wait(timeout=5)
        print(f"Celery worker log:\n{worker.log()}")  # shown by pytest when the test fails
    _forget_broker_connections(app)
    app.conf.update(saved)


@pytest.mark.django_db(transaction=True)
def test_real_worker_sends_the_welcome_email_once(celery_worker):
    worker = celery_worker(_require_redis())
    member = MemberFactory(email="welkom@example.org", status=Member.Status.APPLIED, joined_on=None)

    # Committed, then queued on commit: the worker sees the row the task names.
    member_change_status(member=member, to_status=Member.Status.ACTIVE)

    message = OutboxMessage.objects.get(key=f"members.welcome:{member.pk}")
    worker.wait_for(
        lambda: OutboxMessage.objects.filter(
            pk=message.pk, status=OutboxMessage.Status.SENT
        ).exists(),
        "the outbox row to be sent",
    )
    files = worker.wait_for(worker.mail_files, "the e-mail file")
    assert len(files) == 1
    content = files[0].read_text(errors="replace")
    assert "welkom@example.org" in content
    assert "Task coop.core.tasks.outbox_send[" in worker.log()

    # A retry, or a task delivered twice by the broker, sends nothing more.
    retries = [outbox_send.delay(message.pk), outbox_send.delay(message.pk)]
    for result in retries:
        worker.wait_for(
            lambda task_id=result.id: f"outbox_send[{task_id}] succeeded" in worker.log(),
            f"the repeated task {result.id}",
        )
    assert len(worker.mail_files()) == 1
    message.refresh_from_db()
    assert message.status == OutboxMessage.Status.SENT
    assert message.attempts == 1
