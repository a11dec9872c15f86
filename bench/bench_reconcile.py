"""``azcost reconcile``: a 1,000,000-row cost export against a 1,000,000-call SQLite ledger.

Builds, in a temporary folder:

- a ledger of 1,000,000 calls (the real schema, created by ``Ledger``; rows filled inside
  SQLite as the callback's records are stored: decimal-text costs for every kind, '0'
  for the kinds a call did not use, the exact pico total),
  gpt-4o-2024-08-06 Global on 20 days of November 2026, 50,000 calls a day, each 600
  uncached + 400 cached input and 100 output tokens, resource ``contoso-eu``;
- an EA cost details export (the documented 58-column header) of 1,000,000 rows: 800,040
  Azure OpenAI token rows whose quantities add up to the ledger's tokens per day and
  kind at list price, and 199,960 rows of other services;

then runs ``azcost reconcile EXPORT URL --format json`` as a process and reports its wall
time, peak memory (the child's maximum RSS) and export rows per second, beside two
anchors from the same run: Python's ``csv.reader`` reading the same file (no work per
row), and SQLite's bare ``GROUP BY`` of the ledger's calls. Every group must be a match.
Goal (issue 11): <= 10 s and <= 300 MB. Run: ``.venv/bin/python bench/bench_reconcile.py``
(``--gzip`` for a ``.csv.gz`` export, ``--rows``/``--calls`` for other sizes).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import gzip
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import cost_exports as ce  # the documented EA header and row shape

from azcost.ledger import Ledger

DAYS = 20
NOV1 = dt.date(2026, 11, 1)
PER_CALL = {  # meter -> (tokens per call, list price per 1K)
    "gpt-4o-0806-Inp-glbl Tokens": (600, Decimal("0.0025")),
    "gpt 4o 0806 cached Inp glbl Tokens": (400, Decimal("0.00125")),
    "gpt-4o-0806-Outp-glbl Tokens": (100, Decimal("0.01")),
}

_FILL = """
WITH RECURSIVE seq(i) AS (SELECT :start UNION ALL SELECT i + 1 FROM seq WHERE i < :stop - 1)
INSERT INTO azcost_calls (
  run_id, ts, day, deployment, reported_model, model, model_version, deployment_type, region,
  match, input_tokens, cached_input_tokens, output_tokens, reasoning_tokens,
  audio_input_tokens, audio_output_tokens, cached_audio_input_tokens, image_input_tokens,
  cached_image_input_tokens, image_output_tokens, input_cost, cached_input_cost, output_cost,
  audio_input_cost, audio_output_cost, cached_audio_input_cost, image_input_cost,
  cached_image_input_cost, image_output_cost, total_cost, currency, pricing_version,
  price_effective_from, priced, unpriced_reason, usage_known, tags, run_metadata,
  total_cost_pico, labels, resource)
SELECT
  printf('%08x-0000-4000-8000-%012x', i, i * 2654435761 % 281474976710656),
  strftime('%Y-%m-%dT%H:%M:%S.000000+00:00', 1793491200 + (i / :per_day) * 86400
           + i % :per_day * 86400 / :per_day, 'unixepoch'),
  strftime('%Y-%m-%d', 1793491200 + (i / :per_day) * 86400, 'unixepoch'),
  'chat', 'gpt-4o', 'gpt-4o-2024-08-06', '2024-08-06', 'global', NULL, 'deployment',
  1000, 400, 100, 0, 0, 0, 0, 0, 0, 0, '0.00150000', '0.00050000', '0.00100000',
  '0', '0', '0', '0', '0', '0', '0.00300000', 'USD', 'bench',
  '2024-10-01', 1, NULL, 1, '[]', '{}', 3000000000, '{}', 'contoso-eu'
FROM seq
"""


def build_ledger(path: Path, calls: int) -> None:
    """A ledger of ``calls`` synthetic calls, 1/DAYS of them on each day from 2026-11-01."""
    with Ledger(f"sqlite:///{path}") as ledger:
        ledger.engine  # noqa: B018 - create the schema with the real migrations
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA synchronous = OFF")
    con.execute("BEGIN")
    con.execute(_FILL, {"start": 0, "stop": calls, "per_day": calls // DAYS})
    con.execute("COMMIT")
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()


def build_export(path: Path, rows: int, calls: int, gz: bool) -> int:
    """An EA export whose token rows add up to the ledger's usage; returns its row count."""
    per_day = calls // DAYS
    token_rows = rows * 4 // 5 // (DAYS * len(PER_CALL))
    opener = gzip.open if gz else open
    with opener(path, "wt", encoding="utf-8", newline="") as f:  # type: ignore[operator]
        writer = csv.DictWriter(f, fieldnames=ce.EA_COLUMNS, restval="", lineterminator="\r\n")
        writer.writeheader()
        written = 0
        for d in range(DAYS):
            day = NOV1 + dt.timedelta(days=d)
            for meter, (tokens, per_1k) in PER_CALL.items():
                for j in range(token_rows):
                    n = (j + 1) * per_day // token_rows - j * per_day // token_rows
                    qty = Decimal(n * tokens) / 1000
                    usage = ce.Usage(day, meter, str(qty), str(qty * per_1k))
                    writer.writerow(ce.ea_row(usage))
                    written += 1
        storage = ce.Usage(NOV1, "Hot LRS Data Stored", "1.5", "0.0345", "1 GB/Month", "data")
        other = ce.ea_row(replace(storage, category="Storage", subcategory="Block Blob"))
        for _ in range(rows - written):
            writer.writerow(other)
    return rows


# run in the child: azcost's CLI, then its own peak RSS (VmHWM: this process only, not the
# parent's pages a fork starts with) and CPU seconds (all threads) on stderr
_CHILD = """
import resource, sys
from azcost.cli import main
code = main(sys.argv[1:])
hwm = next(line for line in open("/proc/self/status") if line.startswith("VmHWM")).split()[1]
ru = resource.getrusage(resource.RUSAGE_SELF)
sys.stderr.write(f"@@ {hwm} {ru.ru_utime + ru.ru_stime}\\n")
sys.exit(code)
"""


def run_cli(export: Path, url: str) -> tuple[float, int, float, list[dict[str, object]]]:
    """Wall s, peak RSS (bytes), CPU s and JSON rows of ``azcost reconcile`` as a process."""
    cmd = [sys.executable, "-c", _CHILD, "reconcile", str(export), url, "--format", "json"]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - start
    _, hwm, cpu = next(x for x in proc.stderr.splitlines() if x.startswith("@@ ")).split()
    return wall, int(hwm) * 1024, float(cpu), json.loads(proc.stdout)


def anchor_csv(export: Path) -> float:
    start = time.perf_counter()
    opener = gzip.open if export.suffix == ".gz" else open
    with opener(export, "rt", encoding="utf-8-sig", newline="") as f:  # type: ignore[operator]
        for _ in csv.reader(f):
            pass
    return time.perf_counter() - start


def anchor_group_by(db: Path) -> float:
    con = sqlite3.connect(db)
    start = time.perf_counter()
    con.execute(
        "SELECT day, model, deployment_type, sum(input_tokens), sum(cached_input_tokens), "
        "sum(output_tokens) FROM azcost_calls GROUP BY 1, 2, 3"
    ).fetchall()
    took = time.perf_counter() - start
    con.close()
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--gzip", action="store_true", help="a .csv.gz export")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "ledger.db"
        export = Path(tmp) / ("export.csv.gz" if args.gzip else "export.csv")
        t0 = time.perf_counter()
        build_ledger(db, args.calls)
        rows = build_export(export, args.rows, args.calls, args.gzip)
        size = export.stat().st_size
        print(f"built {args.calls:,} calls and {rows:,} export rows ({size / 1e6:.0f} MB) "
              f"in {time.perf_counter() - t0:.0f} s")  # fmt: skip
        wall, peak, cpu, result = run_cli(export, f"sqlite:///{db}")
        statuses = {str(r["status"]) for r in result}
        assert statuses == {"match"}, statuses
        assert len(result) == DAYS * len(PER_CALL), len(result)
        csv_s = anchor_csv(export)
        sql_s = anchor_group_by(db)
    goal = "met" if wall <= 10 and peak <= 300 * 2**20 else "NOT met"
    print(f"azcost reconcile (process, imports included): {wall:.2f} s, "
          f"peak RSS {peak / 2**20:.0f} MiB, {rows / wall:,.0f} export rows/s  [goal <= 10 s, "
          f"<= 300 MB: {goal}]")  # fmt: skip
    print(f"  CPU time of that process (both threads): {cpu:.2f} s; load average now "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")  # fmt: skip
    print(f"anchor: csv.reader over the same file: {csv_s:.2f} s ({rows / csv_s:,.0f} rows/s)")
    print(f"anchor: SQLite GROUP BY day, model, type over the calls: {sql_s:.2f} s")
    print(
        f"groups: {len(result)}, all match; python {sys.version.split()[0]}, {os.cpu_count()} cpu"
    )


if __name__ == "__main__":
    main()
