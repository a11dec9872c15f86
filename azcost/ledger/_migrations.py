"""The ledger's database: URL resolution, engine set-up, tables, named migrations, rows.

Everything that knows SQL dialects lives here; :mod:`azcost._ledger` (the writer) and
:mod:`azcost._audit` (the reports) use it.

Money is stored exactly. PostgreSQL: unconstrained ``NUMERIC`` (``NUMERIC(38, 18)``
would silently round a cost with more than 18 decimal places; unconstrained NUMERIC
keeps every digit). SQLite: decimal *text* in a ``TEXT`` column (a NUMERIC column would
give the value REAL affinity and turn it into a binary float). Because SQLite cannot sum
decimal text exactly, each row also carries ``total_cost_pico``: the total as an integer
number of 1e-12 currency units, so ``SUM()`` over millions of rows is exact and fast.
It is NULL when the total is not a whole number of pico-units (more than 12 decimal
places) or would not fit in 64 bits; the text column stays the source of truth and the
audit adds those rows from the text, so totals are exact in every case.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from .._paths import data_dir
from ..errors import LedgerError
from ..pricing._money import money_str
from ._record import COST_FIELDS, TOKEN_FIELDS, CallRecord

__all__ = [
    "CALLS",
    "COLUMNS",
    "DAILY",
    "MIGRATIONS",
    "MIGRATIONS_TABLE",
    "ROLLUP_BATCH_SQL",
    "ROLLUP_ROWS_SQL",
    "create_ledger_engine",
    "default_url",
    "display_url",
    "insert_sql",
    "is_sqlite",
    "labels_of",
    "migrate",
    "record_from_row",
    "resolve_url",
    "row_of",
    "sqlite_path",
]

# --------------------------------------------------------------------------- URLs

_SUPPORTED = ("sqlite", "postgresql")


def default_url() -> str:
    """``sqlite:///<data dir>/ledger.db`` (see :func:`azcost._paths.data_dir`)."""
    return f"sqlite:///{data_dir() / 'ledger.db'}"


def resolve_url(url: str | None) -> str:
    """The ledger URL to use: the argument, else ``$AZCOST_LEDGER_URL``, else the default.

    A bare file path means a SQLite file; ``postgresql://`` means psycopg 3.
    """
    chosen = url or os.environ.get("AZCOST_LEDGER_URL") or default_url()
    if "://" not in chosen:
        chosen = f"sqlite:///{Path(chosen).expanduser().resolve()}"
    try:
        parsed = sa.make_url(chosen)
    except sa.exc.ArgumentError as exc:
        raise LedgerError(f"not a database URL: {chosen!r} ({exc})") from None
    backend = parsed.get_backend_name()
    if backend not in _SUPPORTED:
        raise LedgerError(
            f"unsupported ledger URL {display_url(chosen)!r}: "
            "use sqlite:///PATH or postgresql+psycopg://USER@HOST/DB"
        )
    if backend == "postgresql" and parsed.drivername == "postgresql":
        chosen = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return chosen


def display_url(url: str) -> str:
    """The URL with any password masked, for messages."""
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return url


def is_sqlite(url: str) -> bool:
    """True for a SQLite URL."""
    return sa.make_url(url).get_backend_name() == "sqlite"


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL; None for PostgreSQL or an in-memory database."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


# --------------------------------------------------------------------------- engine


def create_ledger_engine(url: str) -> Engine:
    """An engine for the ledger: SQLite in WAL mode with a busy timeout, or PostgreSQL."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "postgresql":
        return sa.create_engine(
            parsed, pool_pre_ping=True, pool_size=2, connect_args={"connect_timeout": 5}
        )
    path = sqlite_path(url)
    if path is None:
        engine = sa.create_engine(
            parsed, poolclass=sa.StaticPool, connect_args={"check_same_thread": False}
        )
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(parsed, connect_args={"timeout": 60.0})

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # We issue BEGIN ourselves (the pysqlite recipe in SQLAlchemy's docs), so that
        # write transactions start with BEGIN IMMEDIATE: the write lock is taken up
        # front and waits for the busy timeout instead of failing with
        # "database is locked" when a reader would have to upgrade.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA busy_timeout = 60000")
        if path is not None:
            cur.execute("PRAGMA journal_mode = WAL")
            # NORMAL in WAL mode: a committed transaction survives a crash of the
            # process (kill -9); only a power loss can undo the last commits.
            cur.execute("PRAGMA synchronous = NORMAL")
            # up to 32 MiB of page cache (grown on demand; the default is 2 MiB): the run
            # id index of a large ledger stays in memory, so a batch rewrites fewer pages
            cur.execute("PRAGMA cache_size = -32768")
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if conn.get_execution_options().get("azcost_readonly"):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


# --------------------------------------------------------------------------- tables


class _Money(sa.types.TypeDecorator[Decimal]):
    """Exact money: NUMERIC on PostgreSQL, decimal text on SQLite."""

    impl = sa.Text
    cache_ok = True

    def load_dialect_impl(self, dialect: sa.Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(sa.Numeric(asdecimal=True))
        return dialect.type_descriptor(sa.Text())

    def process_bind_param(self, value: Any, dialect: sa.Dialect) -> Any:
        if value is None or dialect.name == "postgresql":
            return value
        return money_str(Decimal(value))

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> Decimal | None:
        if value is None:
            return None
        return value if isinstance(value, Decimal) else Decimal(value)


_meta = sa.MetaData()

MIGRATIONS_TABLE = sa.Table(
    "azcost_migrations",
    _meta,
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("applied_at", sa.Text, nullable=False),
)


def _first_columns() -> list[sa.Column[Any]]:
    """The columns of the first schema (migration m001)."""
    cols: list[sa.Column[Any]] = [
        sa.Column("run_id", sa.Text, primary_key=True),
        sa.Column("ts", sa.Text, nullable=False),
        sa.Column("day", sa.Text, nullable=False),
    ]
    cols += [
        sa.Column(name, sa.Text)
        for name in (
            "deployment",
            "reported_model",
            "model",
            "model_version",
            "deployment_type",
            "region",
            "match",
        )
    ]
    cols += [sa.Column(name, sa.BigInteger, nullable=False) for name in TOKEN_FIELDS]
    cols += [sa.Column(name, _Money) for name in COST_FIELDS]
    cols += [
        sa.Column("currency", sa.Text, nullable=False),
        sa.Column("pricing_version", sa.Text),
        sa.Column("price_effective_from", sa.Text),
        sa.Column("priced", sa.Boolean, nullable=False),
        sa.Column("unpriced_reason", sa.Text),
        sa.Column("usage_known", sa.Boolean, nullable=False),
        sa.Column("tags", sa.Text, nullable=False),
        sa.Column("run_metadata", sa.Text, nullable=False),
    ]
    return cols


CALLS = sa.Table(
    "azcost_calls",
    _meta,
    *_first_columns(),
    sa.Column("total_cost_pico", sa.BigInteger),  # m002
    sa.Column("labels", sa.Text),  # m003
)
"""The ledger table, latest schema: one row per completed call."""

COLUMNS: tuple[str, ...] = tuple(c.name for c in CALLS.columns)
"""Column order used by :func:`row_of` and :func:`insert_sql`."""


# --------------------------------------------------------------------------- rows

_PICO = 12
_INT64 = 2**63


def _pico(total: Decimal | None) -> int | None:
    if total is None:
        return None
    scaled = total.scaleb(_PICO)
    if scaled != scaled.to_integral_value():
        return None
    value = int(scaled)
    return value if -_INT64 < value < _INT64 else None


def labels_of(tags: Iterable[str], metadata: dict[str, Any]) -> dict[str, str]:
    """What ``--by tag:KEY`` reads: ``KEY:value`` or ``KEY=value`` tags, then scalar metadata."""
    labels: dict[str, str] = {}
    for tag in tags:
        for sep in (":", "="):
            key, found, value = tag.partition(sep)
            if found and key:
                labels[key] = value
                break
    for key, value in metadata.items():
        if isinstance(value, (str, int, float, bool)):
            labels[str(key)] = value if isinstance(value, str) else json.dumps(value)
    return labels


_UTC = dt.timezone.utc


def _ts_text(ts: dt.datetime) -> tuple[str, str]:
    if ts.tzinfo is not _UTC:
        ts = ts.replace(tzinfo=_UTC) if ts.tzinfo is None else ts.astimezone(_UTC)
    text = ts.isoformat(timespec="microseconds")
    return text, text[:10]


_json = json.JSONEncoder(separators=(",", ":"), sort_keys=True, default=str).encode


_JSON_CACHE: dict[Any, tuple[str, str, str]] = {}
_CACHEABLE = frozenset((str, int, bool, type(None)))


def _tags_meta_json(tags: tuple[str, ...], metadata: Mapping[str, Any]) -> tuple[str, str, str]:
    """(tags, metadata, labels) as JSON; memoised, since most runs repeat a few tag sets."""
    # the key carries each value's type: 1 and True are equal but encode differently.
    # Floats are not cached (0.0 == -0.0), nor lists and dicts (unhashable or mutable).
    values = tuple(metadata.values())
    types = tuple(map(type, values))
    key: Any = (tags, tuple(metadata), values, types)
    if _CACHEABLE.issuperset(types):
        found = _JSON_CACHE.get(key)
    else:
        key, found = None, None
    if found is None:
        meta = dict(metadata)
        found = (_json(list(tags)), _json(meta), _json(labels_of(tags, meta)))
        if key is not None:
            if len(_JSON_CACHE) >= 4096:
                _JSON_CACHE.clear()
            _JSON_CACHE[key] = found
    return found


def row_of(rec: CallRecord, *, text_money: bool) -> tuple[Any, ...]:
    """One record as a tuple in :data:`COLUMNS` order (money as text when ``text_money``)."""
    ts, day = _ts_text(rec.timestamp)
    costs: list[Any] = [
        rec.input_cost,
        rec.cached_input_cost,
        rec.output_cost,
        rec.audio_input_cost,
        rec.audio_output_cost,
        rec.total_cost,
    ]
    if text_money:
        # format(..., "f"): exact plain decimal text, never an exponent
        costs = [None if c is None else format(c, "f") for c in costs]
    eff = rec.price_effective_from
    tags = rec.tags
    metadata = rec.metadata
    if tags or metadata:
        tags_json, meta_json, labels_json = _tags_meta_json(tags, metadata)
    else:
        tags_json, meta_json, labels_json = "[]", "{}", "{}"
    return (
        rec.run_id,
        ts,
        day,
        rec.deployment,
        rec.reported_model,
        rec.model,
        rec.model_version,
        rec.deployment_type,
        rec.region,
        rec.match,
        rec.input_tokens,
        rec.cached_input_tokens,
        rec.output_tokens,
        rec.reasoning_tokens,
        rec.audio_input_tokens,
        rec.audio_output_tokens,
        *costs,
        rec.currency,
        rec.pricing_version,
        None if eff is None else eff.isoformat(),
        bool(rec.priced),
        rec.unpriced_reason,
        bool(rec.usage_known),
        tags_json,
        meta_json,
        _pico(rec.total_cost),
        labels_json,
    )


def record_from_row(row: sa.Row[Any] | Sequence[Any]) -> CallRecord:
    """Inverse of :func:`row_of` for a row selected in :data:`COLUMNS` order."""
    values = dict(zip(COLUMNS, row, strict=True))
    data: dict[str, Any] = {
        "run_id": values["run_id"],
        "timestamp": values["ts"],
        "price_effective_from": values["price_effective_from"],
        "priced": bool(values["priced"]),
        "usage_known": bool(values["usage_known"]),
        "tags": json.loads(values["tags"]),
        "metadata": json.loads(values["run_metadata"]),
    }
    for name in (
        "deployment",
        "reported_model",
        "model",
        "model_version",
        "deployment_type",
        "region",
        "match",
        "currency",
        "pricing_version",
        "unpriced_reason",
        *TOKEN_FIELDS,
    ):
        data[name] = values[name]
    for name in COST_FIELDS:
        value = values[name]
        data[name] = None if value is None else Decimal(value)
    return CallRecord.from_dict(data)


def insert_sql(dialect: str) -> str:
    """The idempotent insert in the driver's paramstyle: a known run id is skipped."""
    mark = "?" if dialect == "sqlite" else "%s"
    return (
        f"INSERT INTO {CALLS.name} ({', '.join(COLUMNS)}) "
        f"VALUES ({', '.join([mark] * len(COLUMNS))}) ON CONFLICT (run_id) DO NOTHING"
    )


# --------------------------------------------------------------------------- migrations


def _m001_calls(conn: Connection) -> None:
    """The first schema: one row per call, keyed by run id."""
    first = sa.Table(CALLS.name, sa.MetaData(), *_first_columns())
    first.create(conn)


def _m002_total_cost_pico(conn: Connection) -> None:
    """Add the exact integer total (1e-12 units) used for fast sums, filled from the text."""
    conn.execute(sa.text(f"ALTER TABLE {CALLS.name} ADD COLUMN total_cost_pico BIGINT"))
    rows = conn.execute(
        sa.text(f"SELECT run_id, total_cost FROM {CALLS.name} WHERE total_cost IS NOT NULL")
    ).all()
    updates = [
        {"r": run_id, "p": _pico(Decimal(total))}
        for run_id, total in rows
        if _pico(Decimal(total)) is not None
    ]
    if updates:
        conn.execute(
            sa.text(f"UPDATE {CALLS.name} SET total_cost_pico = :p WHERE run_id = :r"), updates
        )


def _m003_labels_and_indexes(conn: Connection) -> None:
    """Add the ``labels`` column ``--by tag:KEY`` reads, filled from tags and metadata; indexes."""
    conn.execute(sa.text(f"ALTER TABLE {CALLS.name} ADD COLUMN labels TEXT"))
    rows = conn.execute(sa.text(f"SELECT run_id, tags, run_metadata FROM {CALLS.name}")).all()
    updates = [
        {"r": run_id, "l": _json(labels_of(json.loads(tags), json.loads(meta)))}
        for run_id, tags, meta in rows
    ]
    if updates:
        conn.execute(sa.text(f"UPDATE {CALLS.name} SET labels = :l WHERE run_id = :r"), updates)
    conn.execute(sa.text(f"CREATE INDEX ix_{CALLS.name}_day ON {CALLS.name} (day)"))


# The daily rollup (SQLite only): one row per (day, model, deployment, type, region,
# currency) with running sums, kept by a trigger on every row actually inserted (a
# skipped duplicate run id fires nothing), in the same transaction; since m005 the writer
# adds each batch instead of the trigger. Audits by model,
# deployment, type, region, day or month read it instead of every call, so they take
# the same time at 1M or 10M calls. NULL keys are stored as '' (SQLite treats NULLs in
# a primary key as distinct, which would defeat the upsert). The pico sum becomes REAL if
# it ever overflows 64 bits; the audit then falls back to the calls table.
# PostgreSQL sums NUMERIC fast enough and keeps no rollup.

ROLLUP_KEYS = (
    "day", "model", "reported_model", "model_version", "deployment", "deployment_type",
    "region", "currency",
)  # fmt: skip
ROLLUP_SUMS = ("requests", "priced_requests", *TOKEN_FIELDS, "cost_pico", "inexact_requests")

DAILY = sa.Table(
    "azcost_daily",
    sa.MetaData(),
    *(sa.Column(k, sa.Text, primary_key=True) for k in ROLLUP_KEYS),
    *(sa.Column(k, sa.BigInteger, nullable=False) for k in ROLLUP_SUMS),
)
"""The SQLite daily rollup of ``azcost_calls`` (see the comment above)."""


def _rollup_values(prefix: str) -> list[str]:
    keys = [f"{prefix}day"] + [f"coalesce({prefix}{k}, '')" for k in ROLLUP_KEYS[1:-1]]
    keys.append(f"{prefix}currency")
    inexact = f"{prefix}total_cost IS NOT NULL AND {prefix}total_cost_pico IS NULL"
    return [
        *keys,
        "1",
        f"CASE WHEN {prefix}priced THEN 1 ELSE 0 END",
        *(f"{prefix}{t}" for t in TOKEN_FIELDS),
        f"coalesce({prefix}total_cost_pico, 0)",
        f"CASE WHEN {inexact} THEN 1 ELSE 0 END",
    ]


def _m004_daily_rollup(conn: Connection) -> None:
    """SQLite: the daily rollup table, its trigger and a partial index of inexact rows."""
    if conn.dialect.name != "sqlite":
        return
    DAILY.create(conn)
    cols = ", ".join((*ROLLUP_KEYS, *ROLLUP_SUMS))
    sums = [f"sum({v})" for v in _rollup_values("")[len(ROLLUP_KEYS) :]]
    conn.exec_driver_sql(
        f"INSERT INTO {DAILY.name} ({cols}) "
        f"SELECT {', '.join(_rollup_values('')[: len(ROLLUP_KEYS)])}, {', '.join(sums)} "
        f"FROM {CALLS.name} GROUP BY {', '.join(str(i + 1) for i in range(len(ROLLUP_KEYS)))}"
    )
    update = ", ".join(f"{k} = {k} + excluded.{k}" for k in ROLLUP_SUMS)
    conn.exec_driver_sql(
        f"CREATE TRIGGER {CALLS.name}_daily AFTER INSERT ON {CALLS.name} BEGIN "
        f"INSERT INTO {DAILY.name} ({cols}) VALUES ({', '.join(_rollup_values('NEW.'))}) "
        f"ON CONFLICT ({', '.join(ROLLUP_KEYS)}) DO UPDATE SET {update}; END"
    )
    conn.exec_driver_sql(
        f"CREATE INDEX ix_{CALLS.name}_inexact ON {CALLS.name} (day) "
        "WHERE total_cost IS NOT NULL AND total_cost_pico IS NULL"
    )


# m005: the per-row trigger cost more than the insert itself. The writer now folds each
# batch into the rollup in the batch's own transaction, one upsert per group, summing the
# rows that batch really inserted: SQLite gives a new row a rowid above every existing one
# (the table never reaches rowid 2**63-1), so "rowid > the maximum before the batch" is
# exactly the batch's new rows; a skipped duplicate run id is not among them, and BEGIN
# IMMEDIATE keeps other writers out until the commit. Same sums, same keys as the trigger.
# SQL's sum() fails on a 64-bit overflow where the trigger's "+" turned the sum into REAL
# (which the audit detects); the writer then runs ROLLUP_ROWS_SQL, the trigger's own
# row-by-row upsert, in the same transaction.

_ROLLUP_INTO = f"INSERT INTO {DAILY.name} ({', '.join((*ROLLUP_KEYS, *ROLLUP_SUMS))}) "
_ROLLUP_UPSERT = (
    f"ON CONFLICT ({', '.join(ROLLUP_KEYS)}) DO UPDATE SET "
    f"{', '.join(f'{k} = {k} + excluded.{k}' for k in ROLLUP_SUMS)}"
)

ROLLUP_BATCH_SQL = (
    f"{_ROLLUP_INTO}SELECT {', '.join(_rollup_values('')[: len(ROLLUP_KEYS)])}, "
    f"{', '.join(f'sum({v})' for v in _rollup_values('')[len(ROLLUP_KEYS) :])} "
    f"FROM {CALLS.name} WHERE rowid > ? "
    f"GROUP BY {', '.join(str(i + 1) for i in range(len(ROLLUP_KEYS)))} {_ROLLUP_UPSERT}"
)
"""SQLite: add the calls with rowid above the parameter to the daily rollup."""

ROLLUP_ROWS_SQL = (
    f"{_ROLLUP_INTO}SELECT {', '.join(_rollup_values(''))} "
    f"FROM {CALLS.name} WHERE rowid > ? ORDER BY rowid {_ROLLUP_UPSERT}"
)
"""As :data:`ROLLUP_BATCH_SQL`, one row at a time (a sum past 64 bits becomes REAL)."""


def _m005_rollup_by_batch(conn: Connection) -> None:
    """SQLite: drop the per-row rollup trigger; the writer adds each batch (see above)."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {CALLS.name}_daily")


Migration = tuple[str, Callable[[Connection], None]]

MIGRATIONS: tuple[Migration, ...] = (
    ("m001_calls", _m001_calls),
    ("m002_total_cost_pico", _m002_total_cost_pico),
    ("m003_labels_and_indexes", _m003_labels_and_indexes),
    ("m004_daily_rollup", _m004_daily_rollup),
    ("m005_rollup_by_batch", _m005_rollup_by_batch),
)
"""Ordered, named schema migrations; applied names are recorded in ``azcost_migrations``."""

_PG_LOCK_KEY = 0x617A636F7374  # "azcost": one advisory lock serialises concurrent migrators


def _applied(conn: Connection) -> set[str]:
    if not sa.inspect(conn).has_table(MIGRATIONS_TABLE.name):
        return set()
    return set(conn.scalars(sa.select(MIGRATIONS_TABLE.c.name)))


def migrate(engine: Engine, upto: int | None = None) -> list[str]:
    """Apply the migrations not yet applied (only the first ``upto``, if given); return names."""
    wanted = MIGRATIONS[:upto]
    with engine.connect().execution_options(azcost_readonly=True) as conn:
        if {name for name, _ in wanted} <= _applied(conn):
            return []
    done: list[str] = []
    with engine.begin() as conn:  # BEGIN IMMEDIATE on SQLite: one migrator at a time
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
        MIGRATIONS_TABLE.create(conn, checkfirst=True)
        applied = _applied(conn)
        for name, step in wanted:
            if name in applied:
                continue
            step(conn)
            conn.execute(
                MIGRATIONS_TABLE.insert().values(
                    name=name,
                    applied_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                )
            )
            done.append(name)
    return done
