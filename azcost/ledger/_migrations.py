"""The ledger's named schema migrations, applied in order and recorded by name.

Each migration is a function registered with :func:`migration`, which takes its name
from the function (``m003_labels_and_indexes``); the order of registration is the
order of application. A migration describes the schema as it was at its step, so
later changes to the current tables never change what an old step does.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ._rollups import TAG_HOOK_WHERE, daily_rollup_sql, run_upsert, tag_rollup_sql
from ._tables import (
    CALLS,
    DAILY,
    MIGRATIONS_TABLE,
    ROLLUP_TAGS,
    calls_columns,
    daily_table,
    labels_of,
    pico,
    rollup_sums,
    rollup_values,
    tag_daily_table,
)

__all__ = ["MIGRATIONS", "Migration", "migrate", "migration"]

Migration = tuple[str, Callable[[Connection], None]]

MIGRATIONS: list[Migration] = []
"""Ordered, named schema migrations; applied names are recorded in ``azcost_migrations``."""

# The token and cost columns of the first schema, which m001 and the m004 rollup create;
# each later token kind has a migration of its own.
_M001_TOKENS = (
    "input_tokens",
    "cached_input_tokens",
    "output_tokens",
    "reasoning_tokens",
    "audio_input_tokens",
    "audio_output_tokens",
)
_M001_COSTS = (
    "input_cost",
    "cached_input_cost",
    "output_cost",
    "audio_input_cost",
    "audio_output_cost",
    "total_cost",
)

# The keys of the daily rollup of m004 and of the tag rollups of m009; m010 adds the tier.
_M004_KEYS = (
    "day", "model", "reported_model", "model_version", "deployment", "deployment_type",
    "region", "currency",
)  # fmt: skip
_M010_KEYS = (*_M004_KEYS[:-1], "service_tier", "currency")

_json = json.JSONEncoder(separators=(",", ":"), sort_keys=True, default=str).encode


def migration(step: Callable[[Connection], None]) -> Callable[[Connection], None]:
    """Register *step* as the next migration, named after the function."""
    name = step.__name__.lstrip("_")
    if any(name == known for known, _ in MIGRATIONS):
        raise ValueError(f"migration {name!r} is registered twice")
    MIGRATIONS.append((name, step))
    return step


@migration
def _m001_calls(conn: Connection) -> None:
    """The first schema: one row per call, keyed by run id."""
    first = sa.Table(CALLS.name, sa.MetaData(), *calls_columns(_M001_TOKENS, _M001_COSTS))
    first.create(conn)


@migration
def _m002_total_costpico(conn: Connection) -> None:
    """Add the exact integer total (1e-12 units) used for fast sums, filled from the text."""
    conn.execute(sa.text(f"ALTER TABLE {CALLS.name} ADD COLUMN total_cost_pico BIGINT"))
    rows = conn.execute(
        sa.text(f"SELECT run_id, total_cost FROM {CALLS.name} WHERE total_cost IS NOT NULL")
    ).all()
    updates = [
        {"r": run_id, "p": pico(Decimal(total))}
        for run_id, total in rows
        if pico(Decimal(total)) is not None
    ]
    if updates:
        conn.execute(
            sa.text(f"UPDATE {CALLS.name} SET total_cost_pico = :p WHERE run_id = :r"), updates
        )


@migration
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


@migration
def _m004_daily_rollup(conn: Connection) -> None:
    """SQLite: the daily rollup table, its trigger and a partial index of inexact rows."""
    if conn.dialect.name != "sqlite":
        return
    keys = _M004_KEYS
    daily = daily_table(_M001_TOKENS, keys)
    daily.create(conn)
    sums_cols = rollup_sums(_M001_TOKENS)
    values = rollup_values("", _M001_TOKENS, keys)
    cols = ", ".join((*keys, *sums_cols))
    sums = [f"sum({v})" for v in values[len(keys) :]]
    conn.exec_driver_sql(
        f"INSERT INTO {daily.name} ({cols}) "
        f"SELECT {', '.join(values[: len(keys)])}, {', '.join(sums)} "
        f"FROM {CALLS.name} GROUP BY {', '.join(str(i + 1) for i in range(len(keys)))}"
    )
    update = ", ".join(f"{k} = {k} + excluded.{k}" for k in sums_cols)
    new_values = ", ".join(rollup_values("NEW.", _M001_TOKENS, keys))
    conn.exec_driver_sql(
        f"CREATE TRIGGER {CALLS.name}_daily AFTER INSERT ON {CALLS.name} BEGIN "
        f"INSERT INTO {daily.name} ({cols}) VALUES ({new_values}) "
        f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {update}; END"
    )
    conn.exec_driver_sql(
        f"CREATE INDEX ix_{CALLS.name}_inexact ON {CALLS.name} (day) "
        "WHERE total_cost IS NOT NULL AND total_cost_pico IS NULL"
    )


@migration
def _m005_rollup_by_batch(conn: Connection) -> None:
    """SQLite: drop the per-row rollup trigger; the writer adds each batch to the rollup."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {CALLS.name}_daily")


_M006_TOKENS = (
    "cached_audio_input_tokens",
    "image_input_tokens",
    "cached_image_input_tokens",
    "image_output_tokens",
)


@migration
def _m006_token_kinds(conn: Connection) -> None:
    """Token and cost columns of cached audio input, image input, cached image input and
    image output (on the calls table, and on SQLite's daily rollup); old rows count 0."""
    tokens = _M006_TOKENS
    costs = (
        "cached_audio_input_cost",
        "image_input_cost",
        "cached_image_input_cost",
        "image_output_cost",
    )
    money = "NUMERIC" if conn.dialect.name == "postgresql" else "TEXT"
    for name in tokens:
        conn.exec_driver_sql(
            f"ALTER TABLE {CALLS.name} ADD COLUMN {name} BIGINT NOT NULL DEFAULT 0"
        )
    for name in costs:
        conn.exec_driver_sql(f"ALTER TABLE {CALLS.name} ADD COLUMN {name} {money}")
    if conn.dialect.name == "sqlite":  # the rollup of m004
        for name in tokens:
            conn.exec_driver_sql(
                f"ALTER TABLE {DAILY.name} ADD COLUMN {name} BIGINT NOT NULL DEFAULT 0"
            )


@migration
def _m007_service_tier(conn: Connection) -> None:
    """Add ``service_tier``: the tier a response named (priority and flex are priced apart)."""
    conn.execute(sa.text(f"ALTER TABLE {CALLS.name} ADD COLUMN service_tier TEXT"))


@migration
def _m008_resource(conn: Connection) -> None:
    """Add ``resource``: the Azure OpenAI account a call went to, matched against cost exports."""
    conn.execute(sa.text(f"ALTER TABLE {CALLS.name} ADD COLUMN resource TEXT"))


@migration
def _m009_rollup_tags(conn: Connection) -> None:
    """The tag keys rolled up (none yet) and their rollup table (see ``_tables``)."""
    tokens = (*_M001_TOKENS, *_M006_TOKENS)
    step = sa.MetaData()
    sa.Table(
        ROLLUP_TAGS.name,
        step,
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("added_at", sa.Text, nullable=False),
        sa.Column("ready", sa.Boolean, nullable=False),
        sa.Column("backfilled_through", sa.Text, nullable=False),
    ).create(conn)
    tag_daily_table(tokens, conn.dialect.name, _M004_KEYS).create(conn)


@migration
def _m010_rollups_by_service_tier(conn: Connection) -> None:
    """The service tier in the keys of the daily rollup (SQLite) and the tag rollups, rebuilt
    from the calls: each tag key counts the calls its backfill had counted."""
    tokens = (*_M001_TOKENS, *_M006_TOKENS)
    dialect = conn.dialect.name
    cur = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        if dialect == "sqlite":
            conn.exec_driver_sql(f"DROP TABLE {DAILY.name}")
            daily = daily_table(tokens, _M010_KEYS)
            daily.create(conn)
            batch, rows = (daily_rollup_sql("1", per_row=p, table=daily) for p in (False, True))
            run_upsert(cur, batch, rows, ())
        tags = tag_daily_table(tokens, dialect, _M010_KEYS)
        conn.exec_driver_sql(f"DROP TABLE {tags.name}")
        tags.create(conn)
        sql = [
            tag_rollup_sql(dialect, CALLS.name, TAG_HOOK_WHERE, per_row=p, table=tags)
            for p in (False, True)
        ]
        if dialect == "sqlite":
            run_upsert(cur, sql[0], sql[1], ())
        else:
            cur.execute(sql[0])
    finally:
        cur.close()


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
