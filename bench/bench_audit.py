"""``azcost audit --by model`` over 1M ledger records on SQLite (and how it grows to 10M).

Builds a temporary SQLite ledger with the real schema (created by ``Ledger``), filled
inside SQLite by a recursive CTE, shaped as the writer stores rows: decimal-text costs,
the exact integer ``total_cost_pico``, uuid-like run ids, 5 models over 60 days, each
batch added to the daily rollup as the writer adds it. Then
times, against the issue's goal (<= 1 s for 1M records on SQLite):

- ``audit(engine, ["model"])``: the grouping query and exact totals (library call);
- ``azcost audit URL --by model --format json`` as a process (Python start and imports included);
- for contrast, ``--by tag:user``, which cannot use the daily rollup and reads every call.

Each total is checked against an independent integer sum done in SQLite.
Run: ``.venv/bin/python bench/bench_audit.py [--sizes 1000000 10000000]``.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from azcost.ledger import ROLLUP_BATCH_SQL, Ledger, audit

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
  'USD', 'bench', '2024-01-01', 1, NULL, 1, '[]', '{"user":"u"}',
  (inp * 2 + outp * 6) * 1000000, '{"user":"u"}'
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


def time_library(url: str, repeats: int, by: str = "model") -> tuple[float, Decimal]:
    """Best time of audit(--by BY) in-process, and its total."""
    best = float("inf")
    total = Decimal(0)
    with Ledger(url) as ledger:
        engine = ledger.read_engine()
        for _ in range(repeats):
            t0 = time.perf_counter()
            rows = audit(engine, [by])
            best = min(best, time.perf_counter() - t0)
            total = sum((r.total_cost for r in rows), Decimal(0))
    return best, total


def time_cli(url: str, repeats: int) -> tuple[float, Decimal]:
    """Best wall time of ``azcost audit URL --by model --format json`` as a process."""
    best = float("inf")
    total = Decimal(0)
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-m", "azcost", "audit", url, "--by", "model", "--format", "json"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        best = min(best, time.perf_counter() - t0)
        total = sum((Decimal(r["total_cost"]) for r in json.loads(out)), Decimal(0))
    return best, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[1_000_000], help="record counts (default 1000000)"
    )
    parser.add_argument("--repeats", type=int, default=3, help="timed runs; best is kept")
    args = parser.parse_args()
    print(
        f"{'records':>11} {'build s':>8} {'audit s':>8} {'CLI s':>7}   goal (1M, SQLite)"
        f"   {'tag:user s':>10} (no goal; reads every call)"
    )
    with tempfile.TemporaryDirectory() as d:
        os.environ["AZCOST_HOME"] = str(Path(d) / "home")
        for n in args.sizes:
            path = Path(d) / f"ledger-{n}.db"
            t0 = time.perf_counter()
            build(path, n)
            built = time.perf_counter() - t0
            url = f"sqlite:///{path}"
            want = reference_total(path)
            lib, lib_total = time_library(url, args.repeats)
            cli, cli_total = time_cli(url, args.repeats)
            tag, tag_total = time_library(url, 1, by="tag:user")
            assert lib_total == want == cli_total == tag_total, (lib_total, cli_total, want)
            print(f"{n:>11,} {built:>8.1f} {lib:>8.3f} {cli:>7.3f}   <= 1 s{tag:>22.3f}")
            path.unlink()


if __name__ == "__main__":
    main()
