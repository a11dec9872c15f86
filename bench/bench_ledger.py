"""What recording costs: per call in the handler, and sustained ingest into SQLite/PostgreSQL.

Every figure is CPU time, not wall time (the machine these run on is shared): each rate
is records per CPU second of this process (``time.process_time``: the calling thread
and the ledger's writer thread together; a PostgreSQL server's own work is not
counted), the per-call overhead is the calling thread's CPU (``time.thread_time``).
Every measure runs once per round, all in turn, and the best round is kept.

1. Recording overhead per call: ``CostCallbackHandler`` with an async SQLite ledger minus
   the same handler without one (start + end events of one Azure call, as in
   bench_callback.py): once with the writer idle during the loop (what the call itself
   pays: building the record and queueing it), once with the writer committing
   concurrently (it competes for the GIL). Also ``Ledger.record`` alone, and the writer's
   background work per record. Goal: <= 10 us added, writer idle.
2. Sustained ingest: prebuilt records through ``Ledger.record`` (batches of the default
   size) until ``flush()`` returns (everything committed). Goals: >= 80k/s SQLite,
   >= 30k/s PostgreSQL.
   Run ids are made as LangChain >= 1.0 makes them (UUIDv7: time-ordered, so the run id
   index grows at its end); the SQLite figure is repeated with random UUIDv4 run ids
   (older LangChain, or run ids the caller supplies), whose index inserts land anywhere.
   Beside it, two anchors: plain ``sqlite3.executemany`` of the rows already
   converted (``row_of`` tuples, so no conversion is timed) into the ledger's real
   table (run id key, indexes, ``ON CONFLICT`` skip; no rollup), and into a bare table
   of the same columns (no key, no index: what SQLite itself costs for these rows).
3. ``ledger import``: the same records as a JSONL file (``CallRecord.to_json`` lines, as
   ``ledger export`` writes them), each line checked at the boundary, into SQLite and
   PostgreSQL. Goal: >= 50,000 records/s.

Rates 2 and 3 run for three kinds of metadata (:data:`KINDS`): a user key only; the run
metadata LangChain gives an AzureChatOpenAI call; and what it gives the same call inside
a LangGraph node, with a checkpoint namespace new on every call (both captured from the
real clients, see :func:`captured_metadata`).

Run: ``.venv/bin/python bench/bench_ledger.py [--postgres URL] [-n 100000] [--repeats 3]``
(PostgreSQL: ``$AZCOST_TEST_POSTGRES_URL`` by default; a temporary schema is used and dropped).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import logging
import os
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).parent))
from bench_callback import time_per_call
from langchain_core.utils.uuid import uuid7

import azcost
from azcost.ledger import COLUMNS, CallRecord, Ledger, insert_sql, row_of

UTC = dt.timezone.utc


class _Seen(Exception):
    """Raised by the capturing handler to stop the call before it leaves the process."""


def captured_metadata(kind: str) -> dict[str, Any]:
    """The run metadata LangChain gives an AzureChatOpenAI call: alone ("chain") or made
    in a LangGraph node ("agent").

    Captured from the real clients at the chat model's start event (the call then stops
    before any request): LangChain's ``ls_*`` keys and ``lc_versions``, and in a graph
    LangGraph's ``langgraph_*`` keys and a checkpoint namespace that differs on every call.
    """
    from langchain_core.callbacks import BaseCallbackHandler
    from langchain_openai import AzureChatOpenAI
    from langgraph.graph import START, MessagesState, StateGraph

    class Capture(BaseCallbackHandler):
        raise_error = True

        def on_chat_model_start(self, *args: Any, metadata: Any = None, **kwargs: Any) -> None:
            raise _Seen(metadata)

    llm = AzureChatOpenAI(
        azure_deployment="chat",
        api_version="2024-10-21",
        azure_endpoint="http://127.0.0.1:9",
        api_key="unused",
        model="gpt-4o",
        model_version="2024-08-06",
        temperature=0.2,
        max_retries=0,
    )
    graph: Any = StateGraph(MessagesState)
    graph.add_node("agent", lambda state: {"messages": [llm.invoke(state["messages"])]})
    graph.add_edge(START, "agent")
    config: Any = {
        "callbacks": [Capture()],
        "metadata": {"user": "user0"},
        "configurable": {"thread_id": "t0"},
    }
    logging.disable(logging.ERROR)  # LangChain logs the handler's stop as an error
    try:
        if kind == "agent":
            graph.compile().invoke({"messages": [("user", "hi")]}, config=config)
        else:
            llm.invoke("hi", config={"callbacks": config["callbacks"], "metadata": {"user": "u"}})
    except _Seen as seen:
        return dict(seen.args[0])
    finally:
        logging.disable(logging.NOTSET)
    raise RuntimeError("the chat model's start event was not seen")


def metadata_of(kind: str, template: dict[str, Any], i: int) -> dict[str, Any]:
    """Record ``i``'s metadata: a user only, or a captured one with this call's own values."""
    if kind != "agent":
        return template | {"user": f"user{i % 20}"}
    namespace = f"agent:{uuid.UUID(int=i * 7919 + 1)}"
    return template | {
        "user": f"user{i % 20}",
        "thread_id": f"t{i % 200}",
        "langgraph_step": 1 + i % 5,
        "langgraph_checkpoint_ns": namespace,
        "checkpoint_ns": namespace,
    }


def records(n: int, *, random_ids: bool = False, metadata: str = "little") -> list[CallRecord]:
    """n realistic records: UUIDv7 run ids (v4 if ``random_ids``), a few models and users.

    ``metadata``: "little" (a user key), or "chain" or "agent" (:func:`captured_metadata`).
    """
    template = {} if metadata == "little" else captured_metadata(metadata)
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
                metadata=metadata_of(metadata, template, i),
            )
        )
    return out


def handler_overhead(tmp: Path, n: int, repeats: int) -> dict[str, float]:
    """CPU microseconds per call (this thread): the handler without a ledger, with one."""
    table = azcost.load_pricing()
    ledgers: list[Ledger] = []

    def with_ledger(**options: Any) -> Callable[[], azcost.CostCallbackHandler]:
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
    for _ in range(repeats):  # interleaved rounds
        for name, make in contenders.items():
            best[name] = min(best[name], time_per_call(make, n)[1])
    c0 = time.process_time()
    for ledger in ledgers:
        ledger.close()
    best["drain"] = (time.process_time() - c0) / (n * len(ledgers)) * 1e6

    recs = records(n)
    ledger = Ledger(f"sqlite:///{tmp / 'enqueue.db'}", flush_interval=3600, batch_size=10**9)
    record = ledger.record
    c0 = time.thread_time()
    for rec in recs:
        record(rec)
    best["enqueue"] = (time.thread_time() - c0) / n * 1e6
    ledger.close()
    return best


def ingest(url: str, recs: list[CallRecord]) -> float:
    """Records per CPU second (both threads) through Ledger.record + flush (all committed)."""
    ledger = Ledger(url, max_queue=len(recs) + 1)  # batches of the default size
    ledger.engine  # noqa: B018 - connect and migrate outside the timing
    gc.collect()
    c0 = time.process_time()
    for rec in recs:
        ledger.record(rec)
    ledger.flush()
    cpu = time.process_time() - c0
    with ledger.read_engine().connect() as conn:
        count = conn.exec_driver_sql("SELECT count(*) FROM azcost_calls").scalar_one()
    ledger.close()
    assert count == len(recs), (count, len(recs))
    return len(recs) / cpu


def import_rate(url: str, dump: Path, n: int) -> float:
    """Records per CPU second of ``Ledger.import_jsonl`` (checked, batched, idempotent)."""
    ledger = Ledger(url)
    ledger.engine  # noqa: B018 - connect and migrate outside the timing
    gc.collect()
    c0 = time.process_time()
    done = ledger.import_jsonl(dump)
    cpu = time.process_time() - c0
    ledger.close()
    assert (done.added, done.rejected) == (n, 0), done
    return n / cpu


def raw_sqlite(path: Path, rows: list[tuple[Any, ...]], *, bare: bool) -> float:
    """Rows per CPU second of plain sqlite3.executemany of pre-converted rows.

    ``bare``: into a table of the same columns without key or index; otherwise into the
    ledger's table (run id key, indexes, ON CONFLICT skip), without the rollup.
    """
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
    gc.collect()
    c0 = time.process_time()
    for i in range(0, len(rows), 5000):
        con.execute("BEGIN IMMEDIATE")
        con.executemany(sql, rows[i : i + 5000])
        con.execute("COMMIT")
    cpu = time.process_time() - c0
    con.close()
    return len(rows) / cpu


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


KINDS = {
    "little": "a user key as each record's metadata",
    "chain": "LangChain's metadata of an AzureChatOpenAI call (7 keys, ~230 bytes)",
    "agent": "LangChain's metadata of that call in a LangGraph node (15 keys, ~500 bytes)",
}


def rates(tmp: Path, n: int, repeats: int, postgres: str | None) -> dict[str, float]:
    """Best of ``repeats`` rounds of every rate, each round running them all in turn."""
    random_recs = records(n, random_ids=True)
    runs: dict[str, Callable[[Path], float]] = {
        "little/random": lambda db: ingest(f"sqlite:///{db}", random_recs),
    }
    for kind in KINDS:
        runs |= kind_runs(tmp, kind, records(n, metadata=kind), postgres)
    best = dict.fromkeys(runs, 0.0)
    for round_ in range(repeats):
        for name, run in runs.items():
            db = tmp / f"{name.replace('/', '_')}{round_}.db"
            best[name] = max(best[name], run(db))
            for path in tmp.glob(f"{db.name}*"):
                path.unlink()
    return best


def kind_runs(
    tmp: Path, kind: str, recs: list[CallRecord], postgres: str | None
) -> dict[str, Callable[[Path], float]]:
    """The ingest, import and executemany runs of one kind of metadata, by "kind/rate"."""
    rows = [row_of(r, text_money=True) for r in recs]
    dump = tmp / f"{kind}.jsonl"
    dump.write_text("".join(rec.to_json() + "\n" for rec in recs))
    n = len(recs)
    runs: dict[str, Callable[[Path], float]] = {
        "ingest": lambda db: ingest(f"sqlite:///{db}", recs),
        "raw": lambda db: raw_sqlite(db, rows, bare=False),
        "import": lambda db: import_rate(f"sqlite:///{db}", dump, n),
    }
    if kind == "little":
        runs["bare"] = lambda db: raw_sqlite(db, rows, bare=True)
    if postgres:
        pg = postgres
        runs["pg_ingest"] = lambda _: in_schema(pg, lambda url: ingest(url, recs))
        runs["pg_import"] = lambda _: in_schema(pg, lambda url: import_rate(url, dump, n))
    return {f"{kind}/{name}": run for name, run in runs.items()}


def in_schema(base: str, run: Callable[[str], float]) -> float:
    """``run`` on a URL into a fresh PostgreSQL schema, dropped afterwards."""
    url, schema = postgres_url(base)
    try:
        return run(url)
    finally:
        drop_schema(base, schema)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=100_000, help="records for ingest (default 100000)")
    parser.add_argument("--calls", type=int, default=20_000, help="calls per handler run")
    parser.add_argument("--repeats", type=int, default=3, help="rounds; the best is kept")
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
        best = rates(tmp, args.n, args.repeats, args.postgres)

    without = overhead["without"]
    print(f"CPU time, best of {args.repeats} rounds (load average {os.getloadavg()[0]:.1f})")
    print(f"recording overhead, {args.calls} calls a run (CPU us per call, calling thread)")
    print(f"  handler without ledger              {without:>10.2f}")
    for name, label in (("deferred", "writer idle"), ("concurrent", "writer committing")):
        added = overhead[name] - without
        print(f"  added, {label:<28} {added:>10.2f}   goal <= 10 (writer idle)")
    print(f"    of which Ledger.record (enqueue)  {overhead['enqueue']:>10.2f}")
    print(f"  writer's work per record            {overhead['drain']:>10.2f}   (process CPU)")
    print(f"{args.n} records (records per CPU second of the whole process)")
    for kind, title in KINDS.items():
        print(f"{title}:")
        rates_table(best, kind + "/")


def rates_table(best: dict[str, float], prefix: str) -> None:
    """One metadata kind's rates beside their anchors (a rate not measured is left out)."""
    rows = (
        ("  Ledger.record + flush (both threads):", None, ""),
        ("    SQLite", "ingest", "goal >= 80,000"),
        ("    SQLite, random (UUIDv4) run ids", "random", ""),
        ("    PostgreSQL (client side)", "pg_ingest", "goal >= 30,000"),
        ("  plain sqlite3.executemany of the converted rows (no conversion, no rollup):", None, ""),
        ("    into the ledger's table", "raw", "(run id key, indexes)"),
        ("    into a bare table, same columns", "bare", "(no key, no index)"),
        ("  ledger import of the same records as JSONL, each line checked:", None, ""),
        ("    SQLite", "import", "goal >= 50,000"),
        ("    PostgreSQL (client side)", "pg_import", "goal >= 50,000"),
    )
    for label, name, note in rows:
        if name is None:
            print(label)
        elif prefix + name in best:
            print(f"{label:<38}{best[prefix + name]:>10,.0f}   {note}".rstrip())


if __name__ == "__main__":
    main()
