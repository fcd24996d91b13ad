"""`manage.py bench <domain> --size N`: seed a separate database, time the pages, print JSON lines.

The user's own database is never touched. This process only creates and drops the bench database
(an SQLite file in var/, or `<name>_bench` next to the PostgreSQL database in use) and runs itself
twice in a subprocess pointed at it: once to migrate and seed, once (in a fresh process, so memory
figures are the pages' own) to time the requests. Each domain has a `bench.py` module with `seed`,
`check_seeded`, `login_user`, `operations` and `TARGETS`.
"""

import argparse
import json
import os
import subprocess
import sys
from importlib import import_module
from pathlib import Path
from urllib.parse import quote, urlencode

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.test import Client, override_settings
from django.urls import reverse

from coop.core.tenancy import organisation_scope
from coop.lib.bench import Operation, consume, emit, measure, timed

DOMAINS = {"members": "members.bench", "dues": "finance.bench"}
GUARD_VARIABLE = "COOP_BENCH_DATABASE"


class BenchDatabase:
    """Where a bench run keeps its data: derived from, and never the same as, the default one."""

    def __init__(self, domain: str, database: dict):
        self.vendor = "postgresql" if "postgresql" in database["ENGINE"] else "sqlite"
        if self.vendor == "postgresql":
            self.params = database
            self.name = f"{database['NAME']}_bench"
        else:
            self.path = Path(settings.BASE_DIR) / "var" / f"bench-{domain}.sqlite3"
            self.name = str(self.path)

    @property
    def url(self) -> str:
        if self.vendor == "sqlite":
            return f"sqlite:///{self.path}"
        p = self.params
        auth = quote(p.get("USER") or "", safe="")
        if p.get("PASSWORD"):
            auth += ":" + quote(p["PASSWORD"], safe="")
        host = quote(p.get("HOST") or "localhost", safe="")  # a socket directory is a path
        port = f":{p['PORT']}" if p.get("PORT") else ""
        options = {k: v for k, v in (p.get("OPTIONS") or {}).items() if isinstance(v, str)}
        query = f"?{urlencode(options)}" if options else ""
        return f"postgres://{auth}@{host}{port}/{quote(self.name, safe='')}{query}"

    def _maintenance(self):
        import psycopg

        p = self.params
        return psycopg.connect(
            dbname="postgres",
            user=p.get("USER") or None,
            password=p.get("PASSWORD") or None,
            host=p.get("HOST") or None,
            port=p.get("PORT") or None,
            autocommit=True,
        )

    def create(self) -> None:
        self.drop()
        if self.vendor == "sqlite":
            self.path.parent.mkdir(parents=True, exist_ok=True)
            return
        from psycopg import sql

        with self._maintenance() as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.name)))

    def drop(self) -> None:
        if self.vendor == "sqlite":
            for suffix in ("", "-journal", "-wal", "-shm"):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)
            return
        from psycopg import sql

        with self._maintenance() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.name))
            )


class Command(BaseCommand):
    help = (
        "Seed a separate database with SIZE records and time the main pages; prints one JSON "
        "line per operation. Never touches your own database."
    )

    def add_arguments(self, parser):
        parser.add_argument("domain", choices=sorted(DOMAINS))
        parser.add_argument("--size", type=int, default=50_000, help="records to seed")
        parser.add_argument("--runs", type=int, default=7, help="timed runs per operation")
        parser.add_argument("--keep", action="store_true", help="keep the bench database")
        parser.add_argument("--phase", choices=["seed", "measure"], help=argparse.SUPPRESS)

    def handle(self, *args, domain, size, runs, keep, phase, **options):
        if size < 1 or runs < 1:
            raise CommandError("--size and --runs must be at least 1.")
        if phase:
            # The bench database holds one cooperative; every phase works inside its scope.
            with organisation_scope():
                self._child(domain=domain, size=size, runs=runs, phase=phase)
            return
        target = BenchDatabase(domain, settings.DATABASES["default"])
        self.stderr.write(f"Bench database: {target.name}")
        target.create()
        results = []
        try:
            for step in ("seed", "measure"):
                results += self._run_child(target, domain=domain, size=size, runs=runs, phase=step)
        finally:
            if not keep:
                target.drop()
        self._summary(domain, results)

    # The parent: runs the phases against the bench database -------------------------------

    def _run_child(self, target: BenchDatabase, *, domain, size, runs, phase) -> list[dict]:
        env = {**os.environ, "DATABASE_URL": target.url, GUARD_VARIABLE: target.name}
        manage = Path(settings.BASE_DIR) / "manage.py"
        command = [sys.executable, str(manage), "bench", domain, "--size", str(size)]
        command += ["--runs", str(runs), "--phase", phase, "--skip-checks"]
        results = []
        with subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True) as child:
            assert child.stdout is not None
            for line in child.stdout:
                if not line.startswith("{"):
                    self.stderr.write(line.rstrip("\n"))
                    continue
                self.stdout.write(line.rstrip("\n"))
                results.append(json.loads(line))
        if child.returncode:
            raise CommandError(f"The bench {phase} step failed (exit code {child.returncode}).")
        return results

    def _summary(self, domain: str, results: list[dict]) -> None:
        """The targets, checked on stderr for people; the JSON on stdout is for machines."""
        targets = import_module(DOMAINS[domain]).TARGETS
        baseline = next((r["median_ms"] for r in results if r["bench"] == "baseline"), None)
        for result in results:
            target = targets.get(result["bench"])
            if not target:
                continue
            notes, ok = [], True
            if "max_ms" in target:
                ok &= result["median_ms"] <= target["max_ms"]
                notes.append(f"{result['median_ms']:.0f} ms (target ≤ {target['max_ms']} ms)")
            if "max_baseline_ratio" in target and baseline:
                ratio = result.get("x_baseline") or result["median_ms"] / baseline
                ok &= ratio <= target["max_baseline_ratio"]
                notes.append(f"{ratio:.1f}× baseline (target ≤ {target['max_baseline_ratio']}×)")
            if "max_queries" in target:
                ok &= result["queries"] <= target["max_queries"]
                notes.append(f"{result['queries']} queries (target ≤ {target['max_queries']})")
            if "max_rss_growth_mb" in target:
                ok &= result.get("rss_growth_mb", 0) <= target["max_rss_growth_mb"]
                notes.append(
                    f"memory +{result.get('rss_growth_mb', 0)} MB "
                    f"(target ≤ {target['max_rss_growth_mb']} MB)"
                )
            verdict = "ok  " if ok else "SLOW"
            self.stderr.write(f"{verdict} {result['bench']}: " + ", ".join(notes))

    # The child: runs inside the bench database only ----------------------------------------

    def _child(self, *, domain: str, size: int, runs: int, phase: str) -> None:
        name = str(settings.DATABASES["default"]["NAME"])
        if os.environ.get(GUARD_VARIABLE) != name or not (
            name.endswith("_bench") or Path(name).name.startswith("bench-")
        ):
            raise CommandError("--phase runs only inside a bench database made by `bench`.")
        module = import_module(DOMAINS[domain])
        if phase == "seed":
            call_command("migrate", verbosity=0, interactive=False)
            emit(timed(f"{domain}.seed", size, lambda: module.seed(size=size)), self.stdout)
            module.check_seeded(size)
            return
        client = Client()
        healthz = reverse("dashboard:healthz")
        baseline = Operation("baseline", lambda c: consume(c.get(healthz)))
        # Production-like: no debug templates or query logging; the bench user has no TOTP device.
        with override_settings(
            DEBUG=False,
            COOP_REQUIRE_MFA=False,
            ALLOWED_HOSTS=[*settings.ALLOWED_HOSTS, "testserver"],
        ):
            client.force_login(module.login_user())
            result = measure(baseline, client, size=size, runs=runs)
            emit({**result, "database": connection.vendor}, self.stdout)
            for operation in module.operations():
                result = measure(operation, client, size=size, runs=runs, baseline=baseline)
                emit({**result, "database": connection.vendor}, self.stdout)
