"""Inserting records: checked, idempotent, one transaction per batch, on either backend."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ._checks import check_record
from ._columns import Column, columns_of_records, pg_rows, sqlite_batches_of_columns
from ._record import CallRecord
from ._rollups import (
    DAILY_UPSERT_SQL,
    PG_TAGGED_MOVE,
    ROLLUP_BATCH_SQL,
    ROLLUP_ROWS_SQL,
    add_tag_rollups,
    pg_tag_keys_locked,
    run_upsert,
)
from ._sqlite_rows import MAX_ROWID_SQL, sqlite_batches
from ._tables import CALLS, COLUMNS, insert_sql, row_of

__all__ = ["insert_columns", "insert_records", "refused_record"]

_PG_COPY_ROWS = 100  # from this batch size on, PostgreSQL writes go through COPY
_COLS = ", ".join(COLUMNS)
_PG_STAGE = (
    f"CREATE TEMP TABLE IF NOT EXISTS azcost_incoming (LIKE {CALLS.name}) ON COMMIT DELETE ROWS"
)
_PG_COPY = f"COPY azcost_incoming ({_COLS}) FROM STDIN"
_PG_MOVE = (
    f"INSERT INTO {CALLS.name} ({_COLS}) SELECT {_COLS} FROM azcost_incoming "
    "ON CONFLICT (run_id) DO NOTHING"
)
_insert_sql = functools.cache(insert_sql)


def insert_records(engine: Engine, records: Sequence[CallRecord], *, checked: bool = False) -> int:
    """Insert records in one transaction; known run ids are skipped. Returns rows added.

    Each record is first checked (:func:`~azcost.ledger._checks.check_record`) unless
    ``checked``; a bad one raises :class:`~azcost.ledger._checks.RecordError` and
    nothing of the batch is written.
    """
    if not records:
        return 0
    added = insert_columns(engine, columns_of_records(records))
    if added is not None:  # every column plainly within bounds: checked as a whole
        return added
    if not checked:
        for rec in records:
            check_record(rec)
    if engine.dialect.name == "sqlite":
        return _write_sqlite(engine, sqlite_batches(records))
    text_money = engine.dialect.name != "postgresql"
    return _write_rows(engine, [row_of(rec, text_money=text_money) for rec in records])


def insert_columns(engine: Engine, cols: list[Column], *, parse: bool = False) -> int | None:
    """Insert a batch given as columns (see :mod:`azcost.ledger._columns`) in one transaction.

    Returns rows added, or None, having written nothing, when some column is not plainly
    within bounds (the caller then checks record by record).
    """
    if engine.dialect.name == "sqlite":
        batch = sqlite_batches_of_columns(cols, parse=parse)
        return None if batch is None else _write_sqlite(engine, *batch)
    if engine.dialect.name == "postgresql":
        rows = pg_rows(cols, parse=parse)
        return None if rows is None else _write_rows(engine, rows)
    return None


def _write_rows(engine: Engine, rows: list[tuple[Any, ...]]) -> int:
    """Rows in :data:`COLUMNS` order, in one transaction (PostgreSQL: through COPY)."""
    with engine.begin() as conn:
        pg = engine.dialect.name == "postgresql"
        tagged = pg and pg_tag_keys_locked(conn)
        if tagged or (pg and len(rows) >= _PG_COPY_ROWS):
            # PostgreSQL: COPY into a session temp table, then one idempotent
            # INSERT ... SELECT: ~1.6x the rate of row-by-row INSERTs
            with conn.connection.driver_connection.cursor() as cur:  # type: ignore[union-attr]  # psycopg connection
                cur.execute(_PG_STAGE)
                with cur.copy(_PG_COPY) as copy:
                    for row in rows:
                        copy.write_row(row)
                if tagged:  # the tag rollups in the same statement
                    return int(cur.execute(PG_TAGGED_MOVE).fetchone()[0])
                cur.execute(_PG_MOVE)
                return max(int(cur.rowcount), 0)
        result = conn.exec_driver_sql(_insert_sql(engine.dialect.name), rows)
        return max(int(result.rowcount), 0)


def _write_sqlite(
    engine: Engine,
    batches: Sequence[tuple[str, Iterable[tuple[Any, ...]]]],
    daily: list[tuple[Any, ...]] | None = None,
    offered: int = -1,
) -> int:
    """SQLite: rows, then the rollup of the rows really added, in one transaction.

    ``daily``: the batch's rollup rows, used when all ``offered`` rows were added.
    """
    added = 0
    with engine.begin() as conn:  # BEGIN IMMEDIATE: one writer until the commit
        cur: Any = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]  # sqlite3 connection
        try:
            (before,) = cur.execute(MAX_ROWID_SQL).fetchone()
            for sql, rows in batches:
                cur.executemany(sql, rows)
                added += max(cur.rowcount, 0)
            if added:
                if daily is not None and added == offered:  # every row new: sums in hand
                    cur.executemany(DAILY_UPSERT_SQL, daily)
                else:
                    run_upsert(cur, ROLLUP_BATCH_SQL, ROLLUP_ROWS_SQL, (before,))
                add_tag_rollups(cur, before)
        finally:
            cur.close()
    return added


def refused_record(exc: BaseException) -> bool:
    """True when the error is about a record (bad value, constraint), not the database."""
    names = {cls.__name__ for cls in type(exc).__mro__}
    if names & {"IntegrityError", "DataError"}:
        return True
    db = isinstance(exc, (sa.exc.SQLAlchemyError, OSError)) or type(exc).__module__.startswith(
        ("psycopg", "sqlite3")
    )
    return not db
