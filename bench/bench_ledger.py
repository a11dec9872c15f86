"""What recording costs: per call in the handler, and sustained ingest into SQLite/PostgreSQL.

Figures, each beside the issue's goal, from one run:

1. Recording overhead per call: ``CostCallbackHandler`` with an async SQLite ledger minus
   the same handler without one (start + end events of one Azure call, as in
   bench_callback.py): once with the writer idle during the loop (what the call itself
   pays: building the record and queueing it), once with the writer committing
   concurrently (it competes for the GIL). Also ``Ledger.record`` alone, and the writer's
   background work per record. Goal: <= 10 us added.
2. Sustained ingest: prebuilt records through ``Ledger.record`` until ``flush()``
   returns (everything committed), records/s. Goals: >= 100k/s SQLite, >= 30k/s PostgreSQL.
   Run ids are made as LangChain >= 1.0 makes them (UUIDv7: time-ordered, so the run id
   index grows at its end); the SQLite figure is repeated with random UUIDv4 run ids
   (older LangChain, or run ids the caller supplies), whose index inserts land anywhere.
   Beside it, two references: plain ``sqlite3.executemany`` of the rows already
   converted (``row_of`` tuples, so no conversion is timed) into a bare table of the same
   columns (no key, no index: what SQLite itself costs for these rows), and into the
   ledger's real table (run id key, indexes, ``ON CONFLICT`` skip; no rollup).

3. ``ledger import``: the same records as a JSONL file (``CallRecord.to_json`` lines, as
   ``ledger export`` writes them), each line checked at the boundary, records/s into
   SQLite and PostgreSQL, beside the ingest figures above. Goal: >= 50,000 records/s.

Run: ``.venv/bin/python bench/bench_ledger.py [--postgres URL] [-n 200000]``
(PostgreSQL: ``$AZCOST_TEST_POSTGRES_URL`` by default; a temporary schema is used and dropped).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).parent))
from bench_callback import time_per_call
from langchain_core.utils.uuid import uuid7

import azcost
from azcost.ledger import CallRecord, Ledger
from azcost.ledger._tables import COLUMNS, insert_sql, row_of

UTC = dt.timezone.utc


def records(n: int, *, random_ids: bool = False) -> list[CallRecord]:
    """n realistic records: UUIDv7 run ids (v4 if ``random_ids``), a few models and users."""
    models = ["gpt-35-turbo-0301", "gpt-4o-2024-08-06", "gpt-4o-mini-2024-07-18", "o1-2024-12-17"]
    start = dt.datetime(2026, 11, 1, tzinfo=UTC)
    out = []
    for i in range(n):
        ts = start + dt.timedelta(seconds=i)
        run_id = uuid.uuid4() if random_ids else uuid7(int(ts.timestamp()) * 10**9)
        out.append(
            CallRecord(
                run_id=str(run_id),
                timestamp=ts,
                deployment="chat",
                reported_model="gpt-35-turbo",
                model=models[i % 4],
                deployment_type="regional",
                region="eastus",
                match="version-appended",
                input_tokens=31 + i % 500,
                output_tokens=8 + i % 100,
                input_cost=Decimal("0.000062"),
                output_cost=Decimal("0.000016"),
                total_cost=Decimal("0.000078"),
                pricing_version="2026.11.20",
                price_effective_from=dt.date(2023, 3, 9),
                priced=True,
                tags=("feature:chat",),
                metadata={"user": f"user{i % 20}"},
            )
        )
    return out


def handler_overhead(tmp: Path, n: int, repeats: int) -> dict[str, float]:
    """Microseconds per call: the handler without a ledger, with one, and the pieces."""
    table = azcost.load_pricing()
    ledgers: list[Ledger] = []

    def with_ledger(**options: float) -> Callable[[], azcost.CostCallbackHandler]:
        def make() -> azcost.CostCallbackHandler:
            path = tmp / f"h{len(ledgers)}.db"
            ledger = Ledger(f"sqlite:///{path}", max_queue=10 * n, **options)
            ledgers.append(ledger)
            return azcost.CostCallbackHandler(table, ledger=ledger)

        return make

    contenders = {
        "without": lambda: azcost.CostCallbackHandler(table),
        # the writer sleeps through the loop: the call's own cost (build record + enqueue)
        "deferred": with_ledger(flush_interval=3600, batch_size=10**9),
        # the writer commits while the calls run and competes for the GIL
        "concurrent": with_ledger(),
    }
    best = {name: float("inf") for name in contenders}
    for _ in range(2):  # interleaved rounds
        for name, make in contenders.items():
            best[name] = min(best[name], time_per_call(make, n, repeats))
    t0 = time.perf_counter()
    for ledger in ledgers:
        ledger.close()
    best["drain"] = (time.perf_counter() - t0) / (n * len(ledgers)) * 1e6

    recs = records(n)
    ledger = Ledger(f"sqlite:///{tmp / 'enqueue.db'}", flush_interval=3600, batch_size=10**9)
    record = ledger.record
    t0 = time.perf_counter()
    for rec in recs:
        record(rec)
    best["enqueue"] = (time.perf_counter() - t0) / n * 1e6
    ledger.close()
    return best


def ingest(url: str, recs: list[CallRecord]) -> float:
    """Records per second through Ledger.record + flush (all committed)."""
    ledger = Ledger(url, max_queue=len(recs) + 1, batch_size=5000)
    ledger.engine  # noqa: B018 - connect and migrate outside the timing
    gc.collect()
    t0 = time.perf_counter()
    for rec in recs:
        ledger.record(rec)
    ledger.flush()
    elapsed = time.perf_counter() - t0
    with ledger.read_engine().connect() as conn:
        count = conn.exec_driver_sql("SELECT count(*) FROM azcost_calls").scalar_one()
    ledger.close()
    assert count == len(recs), (count, len(recs))
    return len(recs) / elapsed


def import_rate(url: str, dump: Path, n: int) -> float:
    """Records per second of ``Ledger.import_jsonl`` (checked, batched, idempotent)."""
    ledger = Ledger(url)
    ledger.engine  # noqa: B018 - connect and migrate outside the timing
    gc.collect()
    t0 = time.perf_counter()
    done = ledger.import_jsonl(dump)
    elapsed = time.perf_counter() - t0
    ledger.close()
    assert (done.added, done.rejected) == (n, 0), done
    return n / elapsed


def raw_sqlite(path: Path, recs: list[CallRecord], *, bare: bool) -> float:
    """Records per second of plain sqlite3.executemany of pre-converted rows.

    ``bare``: into a table of the same columns without key or index; otherwise into the
    ledger's table (run id key, indexes, ON CONFLICT skip), without the rollup.
    """
    rows = [row_of(r, text_money=True) for r in recs]
    if bare:
        con = sqlite3.connect(path, isolation_level=None)
        con.execute("PRAGMA journal_mode = WAL")
        con.execute(f"CREATE TABLE bare ({', '.join(COLUMNS)})")
        sql = f"INSERT INTO bare VALUES ({', '.join('?' * len(COLUMNS))})"
    else:
        with Ledger(f"sqlite:///{path}") as ledger:
            ledger.engine  # noqa: B018 - create the schema
        con = sqlite3.connect(path, isolation_level=None)
        sql = insert_sql("sqlite")
    con.execute("PRAGMA synchronous = NORMAL")
    t0 = time.perf_counter()
    for i in range(0, len(rows), 5000):
        con.execute("BEGIN IMMEDIATE")
        con.executemany(sql, rows[i : i + 5000])
        con.execute("COMMIT")
    elapsed = time.perf_counter() - t0
    con.close()
    return len(rows) / elapsed


def postgres_url(base: str) -> tuple[str, str]:
    """A URL into a fresh schema, and the schema name."""
    schema = f"azcost_bench_{uuid.uuid4().hex[:8]}"
    engine = sa.create_engine(base)
    with engine.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    engine.dispose()
    url = sa.make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False), schema


def drop_schema(base: str, schema: str) -> None:
    """Remove the bench schema."""
    engine = sa.create_engine(base)
    with engine.begin() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=200_000, help="records for ingest (default 200000)")
    parser.add_argument("--calls", type=int, default=20_000, help="calls per handler run")
    parser.add_argument("--repeats", type=int, default=3, help="handler runs; best is kept")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("AZCOST_TEST_POSTGRES_URL"),
        metavar="URL",
        help="PostgreSQL base URL (default: $AZCOST_TEST_POSTGRES_URL; skipped when unset)",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        os.environ["AZCOST_HOME"] = str(tmp / "home")  # keep any spool out of the user's dir
        overhead = handler_overhead(tmp, args.calls, args.repeats)
        recs = records(args.n)
        sqlite_rate = ingest(f"sqlite:///{tmp / 'ingest.db'}", recs)
        random_rate = ingest(f"sqlite:///{tmp / 'random.db'}", records(args.n, random_ids=True))
        bare = raw_sqlite(tmp / "bare.db", recs, bare=True)
        ceiling = raw_sqlite(tmp / "raw.db", recs, bare=False)
        dump = tmp / "dump.jsonl"
        dump.write_text("".join(rec.to_json() + "\n" for rec in recs))
        imported = import_rate(f"sqlite:///{tmp / 'import.db'}", dump, args.n)
        pg_rate = pg_import = None
        if args.postgres:
            url, schema = postgres_url(args.postgres)
            try:
                pg_rate = ingest(url, recs)
            finally:
                drop_schema(args.postgres, schema)
            url, schema = postgres_url(args.postgres)
            try:
                pg_import = import_rate(url, dump, args.n)
            finally:
                drop_schema(args.postgres, schema)

    without = overhead["without"]
    print(f"recording overhead, best of {2 * args.repeats} x {args.calls} calls (us per call)")
    print(f"  handler without ledger              {without:>10.2f}")
    for name, label in (("deferred", "writer idle"), ("concurrent", "writer committing")):
        added = overhead[name] - without
        print(f"  added, {label:<28} {added:>10.2f}   goal <= 10")
    print(f"    of which Ledger.record (enqueue)  {overhead['enqueue']:>10.2f}")
    print(f"  writer's work per record          {overhead['drain']:>10.2f}   (background thread)")
    print(f"sustained ingest, {args.n} records, Ledger.record + flush (records/s)")
    print(f"  SQLite                            {sqlite_rate:>10,.0f}   goal >= 100,000")
    print(f"  SQLite, random (UUIDv4) run ids   {random_rate:>10,.0f}")
    print("  plain sqlite3.executemany of the converted rows (no conversion, no rollup):")
    print(f"    into a bare table, same columns {bare:>10,.0f}   (no key, no index)")
    print(f"    into the ledger's table         {ceiling:>10,.0f}   (run id key, indexes)")
    if pg_rate is None:
        print("  PostgreSQL                        skipped (no --postgres URL)")
    else:
        print(f"  PostgreSQL                        {pg_rate:>10,.0f}   goal >= 30,000")
    print(f"ledger import of the same {args.n} records as JSONL, checked (records/s)")
    print(f"  SQLite                            {imported:>10,.0f}   goal >= 50,000")
    if pg_import is not None:
        print(f"  PostgreSQL                        {pg_import:>10,.0f}   goal >= 50,000")


if __name__ == "__main__":
    main()
