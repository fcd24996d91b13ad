"""Measuring pages the way a browser meets them: through the test Client and all middleware.

Used by `manage.py bench`; each domain's `bench.py` describes what to seed and which requests to
time, this module times them and writes one JSON line per operation.
"""

import json
import resource
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TextIO

from django.db import connection


@dataclass(frozen=True)
class Operation:
    """A named request; `run` gets a logged-in Client and must read the whole response."""

    name: str
    run: Callable[[Any], Any]


@dataclass
class QueryCount:
    count: int = 0
    sql: list[str] = field(default_factory=list)


@contextmanager
def count_queries(*, keep_sql: bool = False) -> Iterator[QueryCount]:
    """Count the statements sent to the database, without the debug cursor's logging."""
    counted = QueryCount()

    def wrapper(execute, sql, params, many, context):
        counted.count += 1
        if keep_sql:
            counted.sql.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield counted


def peak_rss_mb() -> float:
    """The process's peak resident memory so far (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)


def consume(response) -> int:
    """Read a response to the end, as a browser would; returns its size in bytes."""
    if response.status_code != 200:
        raise RuntimeError(f"{response.request['PATH_INFO']} answered {response.status_code}")
    if response.streaming:
        size = sum(len(chunk) for chunk in response.streaming_content)
        response.close()
        return size
    return len(response.content)


def _elapsed_ms(operation: Operation, client) -> tuple[float, Any]:
    start = time.perf_counter()
    answer = operation.run(client)
    return (time.perf_counter() - start) * 1000, answer


def measure(
    operation: Operation, client, *, size: int, runs: int, baseline: Operation | None = None
) -> dict[str, Any]:
    """One warm-up, one run counting queries, then `runs` timed runs; the median is reported.

    With a `baseline`, each run is preceded by a run of the baseline, so both meet the same
    machine load; `x_baseline` is the ratio of their medians.
    """
    operation.run(client)
    with count_queries() as queries:
        operation.run(client)
    before = peak_rss_mb()
    timings, baseline_timings, size_bytes = [], [], None
    for _ in range(runs):
        if baseline is not None:
            baseline_timings.append(_elapsed_ms(baseline, client)[0])
        elapsed, size_bytes = _elapsed_ms(operation, client)
        timings.append(elapsed)
    peak = peak_rss_mb()
    result = {
        "bench": operation.name,
        "size": size,
        "median_ms": round(statistics.median(timings), 2),
        "queries": queries.count,
        "peak_rss_mb": peak,
        "rss_growth_mb": round(peak - before, 1),
        "bytes": size_bytes,
        "runs": runs,
    }
    if baseline_timings:
        baseline_ms = statistics.median(baseline_timings)
        result["baseline_ms"] = round(baseline_ms, 2)
        result["x_baseline"] = round(statistics.median(timings) / baseline_ms, 1)
    return result


def timed(name: str, size: int, work: Callable[[], Any]) -> dict[str, Any]:
    """A single timed run (e.g. seeding), with its query count."""
    with count_queries() as queries:
        start = time.perf_counter()
        work()
        elapsed = (time.perf_counter() - start) * 1000
    return {
        "bench": name,
        "size": size,
        "median_ms": round(elapsed, 2),
        "queries": queries.count,
        "peak_rss_mb": peak_rss_mb(),
        "runs": 1,
    }


def emit(result: dict[str, Any], stream: TextIO) -> None:
    stream.write(json.dumps(result) + "\n")
    stream.flush()
