"""``azcost audit`` over 1M ledger records on SQLite (and how it grows to 10M).

Builds a temporary SQLite ledger with the real schema (created by ``Ledger``), filled
inside SQLite by a recursive CTE, shaped as the writer stores rows: decimal-text costs,
the exact integer ``total_cost_pico``, uuid-like run ids, 5 models over 60 days, 1,000
users in metadata (``user``), each batch added to the daily rollup as the writer adds it.
Then times, against the issue's goals (<= 1 s for 1M records on SQLite; ``--by
tag:user`` with its rollup in the time of ``--by model``):

- ``audit(engine, ["model"])``: the grouping query and exact totals (library call);
- ``azcost audit URL --by model --format json`` as a process (Python start and imports);
- ``audit(engine, ["tag:user"])`` without a rollup of ``user``: it reads every call;
- ``azcost ledger rollup add user URL``: the backfill of the existing calls;
- ``audit(engine, ["tag:user"])`` and the process, reading the rollup of ``user``;
- the writer's cost of keeping tag rollups: ``Ledger.record`` + ``flush`` of 50,000
  records into an empty ledger keeping 0, 1 and 2 tag keys (CPU per record).

Each figure is wall time and CPU time (``time.process_time``; for a process, its user +
system time from ``RUSAGE_CHILDREN``), best of ``--repeats``. Every total is checked
against an independent integer sum done in SQLite, and the rollup's rows against the
scan's, row for row.
Run: ``.venv/bin/python bench/bench_audit.py [--sizes 1000000 10000000]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

from azcost.ledger import (
    ROLLUP_BATCH_SQL,
    CallRecord,
    Ledger,
    add_rollup_tags,
    audit,
    backfill_rollup_tag,
)

MODELS = ("gpt-35-turbo-0301", "gpt-4o-2024-08-06", "gpt-4o-mini-2024-07-18", "o1-2024-12-17",
          "gpt-35-turbo-0125")  # fmt: skip

_FILL = """
WITH RECURSIVE seq(i) AS (SELECT :start UNION ALL SELECT i + 1 FROM seq WHERE i < :stop - 1)
INSERT INTO azcost_calls (
  run_id, ts, day, deployment, reported_model, model, model_version, deployment_type, region,
  match, input_tokens, cached_input_tokens, output_tokens, reasoning_tokens,
  audio_input_tokens, audio_output_tokens, input_cost, output_cost, total_cost, currency,
  pricing_version, price_effective_from, priced, unpriced_reason, usage_known, tags,
  run_metadata, total_cost_pico, labels)
SELECT
  printf('%08x-0000-4000-8000-%012x', i, i * 2654435761 % 281474976710656),
  strftime('%Y-%m-%dT%H:%M:%S.000000+00:00', 1793491200 + i * 5184000 / :total, 'unixepoch'),
  strftime('%Y-%m-%d', 1793491200 + i * 5184000 / :total, 'unixepoch'),
  'chat', 'base', m, NULL, 'regional', 'eastus', 'exact',
  inp, 0, outp, 0, 0, 0,
  printf('%d.%06d', (inp * 2) / 1000000, (inp * 2) % 1000000),
  printf('%d.%06d', (outp * 6) / 1000000, (outp * 6) % 1000000),
  printf('%d.%06d', (inp * 2 + outp * 6) / 1000000, (inp * 2 + outp * 6) % 1000000),
  'USD', 'bench', '2024-01-01', 1, NULL, 1, '[]', printf('{"user":"u%d"}', i % 1000),
  (inp * 2 + outp * 6) * 1000000, printf('{"user":"u%d"}', i % 1000)
FROM (
  SELECT i,
    CASE i % 5 WHEN 0 THEN :m0 WHEN 1 THEN :m1 WHEN 2 THEN :m2 WHEN 3 THEN :m3 ELSE :m4 END AS m,
    100 + i % 900 AS inp, 10 + i % 90 AS outp
  FROM seq)
"""


def build(path: Path, n: int) -> None:
    """A ledger of n synthetic records at path."""
    with Ledger(f"sqlite:///{path}") as ledger:
        ledger.engine  # noqa: B018 - create the schema with the real migrations
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA synchronous = OFF")
    models = {f"m{k}": name for k, name in enumerate(MODELS)}
    step = 1_000_000
    for start in range(0, n, step):
        con.execute("BEGIN")
        (before,) = con.execute("SELECT coalesce(max(rowid), 0) FROM azcost_calls").fetchone()
        con.execute(_FILL, {"start": start, "stop": min(n, start + step), "total": n, **models})
        con.execute(ROLLUP_BATCH_SQL, (before,))  # as the writer adds each batch to the rollup
        con.execute("COMMIT")
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()


def reference_total(path: Path) -> Decimal:
    """Independent check: the integer sum of micro-units, done by SQLite."""
    con = sqlite3.connect(path)
    (micro,) = con.execute(
        "SELECT sum(input_tokens * 2 + output_tokens * 6) FROM azcost_calls"
    ).fetchone()
    con.close()
    return Decimal(micro).scaleb(-6)


Timing = tuple[float, float]
"""(wall seconds, CPU seconds)."""
T = TypeVar("T")


def timed(run: Callable[[], T], repeats: int) -> tuple[Timing, T]:
    """Best wall and best CPU time of *run* in this process, and its last result."""
    wall, cpu = float("inf"), float("inf")
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        out = run()
        wall = min(wall, time.perf_counter() - w0)
        cpu = min(cpu, time.process_time() - c0)
    return (wall, cpu), out


def time_cli(url: str, by: str, repeats: int) -> tuple[Timing, Decimal]:
    """Best wall and CPU (user + system) time of ``azcost audit URL --by BY`` as a process."""
    wall, cpu, total = float("inf"), float("inf"), Decimal(0)
    for _ in range(repeats):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-m", "azcost", "audit", url, "--by", by, "--format", "json"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        wall = min(wall, time.perf_counter() - t0)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        used = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
        cpu = min(cpu, used)
        rows = json.loads(out)
        assert {r["source"] for r in rows} <= {"rollup", f"rollup:{by[4:]}"}, rows[0]["source"]
        total = sum((Decimal(r["total_cost"]) for r in rows), Decimal(0))
    return (wall, cpu), total


def measure(path: Path, repeats: int) -> dict[str, Timing]:
    """Every audit figure for the ledger at *path*, checked against the reference sum."""
    url = f"sqlite:///{path}"
    want = reference_total(path)
    out: dict[str, Timing] = {}
    with Ledger(url) as ledger:
        engine = ledger.read_engine()
        out["model"], by_model = timed(lambda: audit(engine, ["model"]), repeats)
        out["model CLI"], cli_total = time_cli(url, "model", repeats)
        out["tag scan"], scanned = timed(lambda: audit(engine, ["tag:user"]), 1)
        add_rollup_tags(ledger.engine, ["user"])
        out["rollup add"], _ = timed(lambda: backfill_rollup_tag(ledger.engine, "user"), 1)
        out["tag rollup"], rolled = timed(lambda: audit(engine, ["tag:user"]), repeats)
        out["tag CLI"], tag_cli_total = time_cli(url, "tag:user", repeats)
    assert (scanned.source, rolled.source) == ("scan", "rollup:user")
    assert [r.as_dict(["tag:user"]) for r in rolled] == [r.as_dict(["tag:user"]) for r in scanned]
    for total in (
        sum((r.total_cost for r in by_model), Decimal(0)),
        sum((r.total_cost for r in rolled), Decimal(0)),
        cli_total,
        tag_cli_total,
    ):
        assert total == want, (total, want)
    return out


def ingest_cpu(directory: Path, n: int, repeats: int) -> dict[int, float]:
    """CPU seconds per record of ``record`` + ``flush`` keeping 0, 1 and 2 tag rollups."""
    when = dt.datetime(2026, 11, 2, tzinfo=dt.timezone.utc)
    records = [
        CallRecord(
            run_id=f"{i:08x}-0000-4000-8000-000000000000",
            timestamp=when + dt.timedelta(seconds=i),
            deployment="chat",
            reported_model="gpt-4o",
            model=MODELS[i % 5],
            deployment_type="global",
            region="eastus",
            input_tokens=100 + i % 900,
            output_tokens=10 + i % 90,
            total_cost=Decimal(f"0.000{i % 1000:03d}"),
            currency="USD",
            priced=True,
            metadata={"user": f"u{i % 1000}", "feature": f"f{i % 7}"},
        )
        for i in range(n)
    ]
    best = {0: float("inf"), 1: float("inf"), 2: float("inf")}
    for r in range(repeats):
        for keys in best:  # alternated round by round
            path = directory / f"ingest-{keys}-{r}.db"
            with Ledger(f"sqlite:///{path}", rollup_tags=["user", "feature"][:keys]) as ledger:
                ledger.engine  # noqa: B018 - schema and keys before the clock starts
                c0 = time.process_time()
                for rec in records:
                    ledger.record(rec)
                ledger.flush()
                best[keys] = min(best[keys], (time.process_time() - c0) / n)
            path.unlink()
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[1_000_000], help="record counts (default 1000000)"
    )
    parser.add_argument("--repeats", type=int, default=3, help="timed runs; best is kept")
    parser.add_argument("--ingest", type=int, default=50_000, help="records for the ingest cost")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f}; each cell: wall s / CPU s")
    names = ("model", "model CLI", "tag scan", "rollup add", "tag rollup", "tag CLI")
    print(f"{'records':>11} {'build s':>8} " + " ".join(f"{n:>15}" for n in names))
    with tempfile.TemporaryDirectory() as d:
        os.environ["AZCOST_HOME"] = str(Path(d) / "home")
        for n in args.sizes:
            path = Path(d) / f"ledger-{n}.db"
            t0 = time.perf_counter()
            build(path, n)
            built = time.perf_counter() - t0
            got = measure(path, args.repeats)
            cells = " ".join(f"{got[k][0]:>7.3f}/{got[k][1]:<7.3f}" for k in names)
            print(f"{n:>11,} {built:>8.1f} {cells}")
            path.unlink()
        cost = ingest_cpu(Path(d), args.ingest, args.repeats)
    print(f"record + flush into SQLite, {args.ingest:,} records, CPU per record (best of "
          f"{args.repeats}, alternated):")  # fmt: skip
    for keys, seconds in cost.items():
        print(f"  {keys} tag key(s) rolled up: {seconds * 1e6:6.2f} us ({1 / seconds:,.0f}/s)")


if __name__ == "__main__":
    main()
