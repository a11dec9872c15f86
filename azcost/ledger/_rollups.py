"""The SQL that keeps the rollups, run by the writer in each batch's own transaction.

The daily rollup (SQLite): one upsert per group, summing the rows the batch really
inserted. SQLite gives a new row a rowid above every existing one (the table never
reaches rowid 2**63-1), so "rowid > the maximum before the batch" is exactly the batch's
new rows; a skipped duplicate run id is not among them, and BEGIN IMMEDIATE keeps other
writers out until the commit. SQL's sum() fails on a 64-bit overflow; the writer then
runs the row-by-row upsert, whose "+" turns the sum into REAL (which the audit detects),
in the same transaction.

The tag rollups (both backends) are added the same way, for every key listed in
``azcost_rollup_tags``: on SQLite from the rows above the rowid, on PostgreSQL from the
rows the idempotent ``INSERT ... RETURNING`` really added (one statement). A key still
being backfilled counts only the new calls whose run id the backfill has passed; the
backfill counts the others. PostgreSQL writers take a share lock on the key rows first,
so a backfill step (which locks its key row for update) never runs between a batch's
insert and its rollup.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ._tables import (
    CALLS,
    COLUMNS,
    DAILY,
    ROLLUP_TAGS,
    TAG_DAILY,
    rollup_values,
)

__all__ = [
    "DAILY_UPSERT_SQL",
    "PG_TAGGED_MOVE",
    "ROLLUP_BATCH_SQL",
    "ROLLUP_ROWS_SQL",
    "TAG_HOOK_WHERE",
    "add_tag_rollups",
    "daily_rollup_sql",
    "pg_tag_keys_locked",
    "run_upsert",
    "tag_rollup_sql",
    "tag_value_sql",
]


def daily_rollup_sql(where: str, *, per_row: bool = False, table: sa.Table = DAILY) -> str:
    """SQLite: add the calls in *where* to the daily rollup *table* (its keys and sums)."""
    keys = [c.name for c in table.primary_key.columns]
    sums = [c.name for c in table.columns if not c.primary_key]
    values = rollup_values("", sums[2:-2], keys)
    into = f"INSERT INTO {table.name} ({', '.join((*keys, *sums))}) "
    upsert = _add_on_conflict(keys, sums)
    source = f"FROM {CALLS.name} WHERE {where}"
    if per_row:
        return f"{into}SELECT {', '.join(values)} {source} ORDER BY rowid {upsert}"
    n = len(keys)
    return (
        f"{into}SELECT {', '.join(values[:n])}, {', '.join(f'sum({v})' for v in values[n:])} "
        f"{source} GROUP BY {', '.join(str(i + 1) for i in range(n))} {upsert}"
    )


def _add_on_conflict(keys: list[str], sums: list[str]) -> str:
    return (
        f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET "
        f"{', '.join(f'{k} = {k} + excluded.{k}' for k in sums)}"
    )


def _daily_upsert_sql(table: sa.Table = DAILY) -> str:
    keys = [c.name for c in table.primary_key.columns]
    sums = [c.name for c in table.columns if not c.primary_key]
    names = (*keys, *sums)
    values = ", ".join("?" * len(names))
    return f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({values}) " + _add_on_conflict(
        keys, sums
    )


DAILY_UPSERT_SQL = _daily_upsert_sql()
"""SQLite: add one group's sums (its keys, then its sums, as :data:`DAILY` orders them)."""

ROLLUP_BATCH_SQL = daily_rollup_sql("rowid > ?")
"""SQLite: add the calls with rowid above the parameter to the daily rollup."""

ROLLUP_ROWS_SQL = daily_rollup_sql("rowid > ?", per_row=True)
"""As :data:`ROLLUP_BATCH_SQL`, one row at a time (a sum past 64 bits becomes REAL)."""


def tag_value_sql(dialect: str, labels: str, key: str) -> str:
    """SQL for the value of tag *key* in the *labels* JSON, as ``--by tag:KEY`` reads it."""
    if dialect == "postgresql":
        return f"(CAST({labels} AS JSONB) ->> {key})"
    return f"json_extract({labels}, '$.\"' || {key} || '\"')"


TAG_HOOK_WHERE = "(k.ready OR c.run_id <= k.backfilled_through)"
"""The keys a writer's batch counts a call for (see the module docstring)."""


def tag_rollup_sql(
    dialect: str, calls: str, where: str, *, per_row: bool = False, table: sa.Table | None = None
) -> str:
    """Add the rows of *calls* (read as ``c``) to the rollup of each key ``k`` in *where*.

    *table* is the tag rollup (its keys and sums); by default the backend's latest one.
    """
    table = TAG_DAILY[dialect] if table is None else table
    pk = [c.name for c in table.primary_key.columns]
    sums = [c.name for c in table.columns if not c.primary_key]
    n = len(pk) - 3  # after tag_key, tagged, tag_value: the daily rollup's keys
    pg = dialect == "postgresql"  # an exact NUMERIC sum instead of pico units
    values = rollup_values("c.", sums[2:-1] if pg else sums[2:-2], pk[3:])
    if pg:
        values = [*values[:-2], "coalesce(c.total_cost, 0)"]
    tag = tag_value_sql(dialect, "c.labels", "k.key")
    keys = ["k.key", f"CASE WHEN {tag} IS NULL THEN 0 ELSE 1 END", f"coalesce({tag}, '')"]
    keys += values[:n]
    into = f"INSERT INTO {table.name} ({', '.join((*pk, *sums))}) "
    source = f"FROM {calls} c, {ROLLUP_TAGS.name} k WHERE {where}"
    if per_row:
        select = f"SELECT {', '.join(keys + values[n:])} {source} ORDER BY c.rowid"
    else:
        # grouped by the tag's value itself: SQLite then reads it once per row
        groups = ", ".join(["k.key", tag, *values[:n]])
        select = f"SELECT {', '.join(keys)}, {', '.join(f'sum({v})' for v in values[n:])} "
        select += f"{source} GROUP BY {groups}"
        if dialect == "postgresql":  # concurrent writers lock the rollup rows in one order
            select += f" ORDER BY {', '.join(str(i + 1) for i in range(len(keys)))}"
    update = ", ".join(f"{k} = {table.name}.{k} + excluded.{k}" for k in sums)
    return f"{into}{select} ON CONFLICT ({', '.join(pk)}) DO UPDATE SET {update}"


_TAG_BATCH_SQL = tag_rollup_sql("sqlite", CALLS.name, f"c.rowid > ? AND {TAG_HOOK_WHERE}")
_TAG_ROWS_SQL = tag_rollup_sql(
    "sqlite", CALLS.name, f"c.rowid > ? AND {TAG_HOOK_WHERE}", per_row=True
)
_ANY_KEY_SQL = f"SELECT 1 FROM {ROLLUP_TAGS.name} LIMIT 1"


def run_upsert(cur: Any, batch_sql: str, rows_sql: str, params: tuple[Any, ...]) -> None:
    """SQLite: the grouped upsert, or row by row when a sum overflows 64 bits."""
    try:
        cur.execute(batch_sql, params)
    except sqlite3.OperationalError as exc:  # a sum past 64 bits
        if "overflow" not in str(exc):
            raise
        cur.execute(rows_sql, params)


def add_tag_rollups(cur: Any, before: int) -> None:
    """SQLite: add the rows above rowid *before* to every tag rollup (none kept: no work)."""
    if cur.execute(_ANY_KEY_SQL).fetchone() is not None:
        run_upsert(cur, _TAG_BATCH_SQL, _TAG_ROWS_SQL, (before,))


_COLS = ", ".join(COLUMNS)

PG_TAGGED_MOVE = (
    f"WITH added AS (INSERT INTO {CALLS.name} ({_COLS}) SELECT {_COLS} FROM azcost_incoming "
    "ON CONFLICT (run_id) DO NOTHING RETURNING *), "
    f"tagged AS ({tag_rollup_sql('postgresql', 'added', TAG_HOOK_WHERE)}) "
    "SELECT count(*) FROM added"
)
"""PostgreSQL: move the staged rows in, add the new ones to the tag rollups; the count."""


def pg_tag_keys_locked(conn: Connection) -> bool:
    """PostgreSQL: True when tag rollups are kept, their key rows share-locked until commit."""
    found = conn.exec_driver_sql(f"SELECT key FROM {ROLLUP_TAGS.name} FOR SHARE").first()
    return found is not None
