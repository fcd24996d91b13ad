"""A real Celery worker process on real Redis delivers the welcome e-mail exactly once, also
when a worker is killed after claiming it.

The worker is `celery -A coop worker` in a subprocess, on the test database and a dedicated Redis
database (number 15 of the Redis that REDIS_URL names; purged first). An unreachable Redis fails
the test: this is the check that the stack works, so it must never be skipped quietly.
"""

import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import kombu.pools
import pytest
import redis
from django.conf import settings as django_settings
from django.db import connection
from django.utils import timezone

from coop.core.models import OutboxMessage
from coop.core.services import outbox_message_id, outbox_requeue_pending
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
    """The app builds its connection and producer pools from broker_url on first use; drop them.

    The pools live in kombu's registry, keyed by broker URL: closing one without dropping it from
    there would hand the closed pool to the next task sent to the same Redis.
    """
    kombu.pools.reset()
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


def _start_worker(*, redis_url: str, directory: Path, number: int, env: dict[str, str]) -> Worker:
    """Workers of one test share the mail folder, so "sent once" counts what all of them sent."""
    mail_dir = directory / "mail"
    mail_dir.mkdir(exist_ok=True)
    log_path = directory / f"worker-{number}.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "coop.settings",
        "DATABASE_URL": _test_database_url(),
        "REDIS_URL": redis_url,
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(mail_dir),
        "PYTHONUNBUFFERED": "1",
        **env,
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
    """Starts a worker process on request (keyword arguments go into its environment); this
    process then sends its tasks to the same Redis.

    The worker is always stopped, and the app's settings restored, when the test ends.
    """
    from coop.celery import app

    saved = {key: app.conf[key] for key in ("task_always_eager", "broker_url")}
    workers: list[Worker] = []

    def start(redis_url: str, **env: str) -> Worker:
        worker = _start_worker(
            redis_url=redis_url, directory=tmp_path, number=len(workers) + 1, env=env
        )
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
        print(f"Celery worker {worker.log_path.name}:\n{worker.log()}")  # shown when it fails
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


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_between_claim_and_send_is_replaced_and_the_email_goes_once(
    celery_worker, settings, tmp_path
):
    """SIGKILL leaves the row "sending"; once the claim's lease is over, the requeue hands the
    e-mail to the next worker, which sends it, once, with the row's own Message-ID."""
    lease = 2
    settings.OUTBOX_CLAIM_LEASE_SECONDS = lease
    redis_url = _require_redis()
    hold = tmp_path / "hold-send"
    hold.touch()
    worker_env = {
        "EMAIL_BACKEND": "tests.blocking_mail.EmailBackend",
        "COOP_TEST_HOLD_SEND_FILE": str(hold),
        "OUTBOX_CLAIM_LEASE_SECONDS": str(lease),
    }
    first = celery_worker(redis_url, **worker_env)
    member = MemberFactory(
        email="eenmaal@example.org", status=Member.Status.APPLIED, joined_on=None
    )
    member_change_status(member=member, to_status=Member.Status.ACTIVE)
    message = OutboxMessage.objects.get(key=f"members.welcome:{member.pk}")

    first.wait_for(
        lambda: OutboxMessage.objects.filter(
            pk=message.pk, status=OutboxMessage.Status.SENDING
        ).exists(),
        "the first worker to claim the e-mail",
    )
    first.process.kill()
    first.process.wait(timeout=10)
    hold.unlink()
    message.refresh_from_db()
    assert message.status == OutboxMessage.Status.SENDING
    assert first.mail_files() == []
    # Within the lease the claim still counts: the requeue leaves the row alone.
    if timezone.now() - message.claimed_at < dt.timedelta(seconds=lease - 0.5):
        assert outbox_requeue_pending() == 0

    second = celery_worker(redis_url, **worker_env)
    second.wait_for(
        lambda: timezone.now() - message.claimed_at > dt.timedelta(seconds=lease + 0.5),
        "the claim to expire",
    )
    assert outbox_requeue_pending() == 1

    second.wait_for(
        lambda: OutboxMessage.objects.filter(
            pk=message.pk, status=OutboxMessage.Status.SENT
        ).exists(),
        "the second worker to send the e-mail",
    )
    assert outbox_requeue_pending() == 0
    time.sleep(0.5)  # room for a second copy to show up, if one were on its way
    files = second.mail_files()
    assert len(files) == 1
    content = files[0].read_text(errors="replace")
    assert "eenmaal@example.org" in content
    assert f"Message-ID: {outbox_message_id(message=message)}" in content
    message.refresh_from_db()
    assert message.status == OutboxMessage.Status.SENT
    assert message.attempts == 2
