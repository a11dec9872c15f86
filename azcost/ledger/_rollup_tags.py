"""Which tag keys the ledger rolls up: adding one (with its backfill), listing, removing.

The keys live in ``azcost_rollup_tags``, so every process writing the ledger keeps their
rollups, whatever options it was opened with. A key added to a ledger that already holds
calls starts not ready: :func:`backfill_rollup_tag` adds the existing calls in run-id order, one
transaction per step, recording how far it got in the same transaction, so an interrupted
backfill resumes where it stopped and never counts a call twice. The audit reads a key's
rollup only once it is ready.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ..errors import LedgerError, LedgerWarning
from ._rollups import run_upsert, tag_rollup_sql
from ._tables import CALLS, ROLLUP_TAGS, TAG_DAILY

__all__ = [
    "RollupTag",
    "add_rollup_tags",
    "backfill_rollup_tag",
    "check_tag_key",
    "keep_tags",
    "parse_tag_keys",
    "ready_tags",
    "remove_rollup_tag",
    "rollup_tags",
]

_MAX_KEY = 200


@dataclass(frozen=True, slots=True)
class RollupTag:
    """A tag key the ledger rolls up."""

    key: str
    """The tag or metadata key (``--by tag:KEY``)."""
    added_at: str
    """When it was added (UTC, ISO 8601)."""
    ready: bool
    """True once every call written before it was added is counted (audits read it)."""
    backfilled_through: str
    """While not ready: the run id up to which earlier calls are counted."""


def check_tag_key(key: str) -> str:
    """The key, or :class:`LedgerError` naming what is wrong with it."""
    if not isinstance(key, str) or not key or key != key.strip():
        raise LedgerError(f"rollup tag key {key!r}: must be non-empty, without outer spaces")
    if len(key) > _MAX_KEY:
        raise LedgerError(f"rollup tag key {key[:20]!r}...: longer than {_MAX_KEY} characters")
    bad = [ch for ch in key if ch in '"\\' or unicodedata.category(ch) in ("Cc", "Cs")]
    if bad:
        raise LedgerError(
            f"rollup tag key {key!r}: cannot contain {bad[0]!r} (quotes, backslashes, "
            "control characters)"
        )
    return key


def parse_tag_keys(text: str) -> list[str]:
    """Keys from ``user,feature`` (``$AZCOST_LEDGER_ROLLUP_TAGS``), each checked."""
    return [check_tag_key(part.strip()) for part in text.split(",") if part.strip()]


def _begin(conn: Connection) -> None:
    """PostgreSQL: no batch may be between its insert and its rollup while the keys change."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"LOCK TABLE {CALLS.name} IN SHARE MODE")


def add_rollup_tags(engine: Engine, keys: Iterable[str]) -> list[str]:
    """Register the keys not yet rolled up; return those added (ready if no call exists)."""
    keys = [check_tag_key(k) for k in keys]
    if not keys:
        return []
    with engine.connect().execution_options(azcost_readonly=True) as conn:
        if set(keys) <= set(conn.scalars(sa.select(ROLLUP_TAGS.c.key))):
            return []  # the usual case: no write, no lock
    added: list[str] = []
    with engine.begin() as conn:  # BEGIN IMMEDIATE on SQLite: no batch in between
        _begin(conn)
        known = set(conn.scalars(sa.select(ROLLUP_TAGS.c.key)))
        empty = conn.execute(sa.select(CALLS.c.run_id).limit(1)).first() is None
        now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        for key in dict.fromkeys(keys):
            if key in known:
                continue
            conn.execute(
                ROLLUP_TAGS.insert().values(
                    key=key, added_at=now, ready=empty, backfilled_through=""
                )
            )
            added.append(key)
    return added


def keep_tags(engine: Engine, keys: Sequence[str], where: str) -> None:
    """Roll up *keys* from now on; warn once for each that needs a backfill (``where``: URL)."""
    if not keys:
        return
    add_rollup_tags(engine, keys)
    ready = {t.key: t.ready for t in rollup_tags(engine)}
    for key in dict.fromkeys(keys):
        if not ready[key]:
            warnings.warn(
                f"azcost ledger {where}: the rollup of tag {key!r} does not count the calls "
                f"written before it was added yet (audits by tag:{key} read every call "
                f"until then); count them with: azcost ledger rollup add {key} URL",
                LedgerWarning,
                stacklevel=4,
            )


def rollup_tags(engine: Engine) -> list[RollupTag]:
    """The keys rolled up, in key order."""
    with engine.connect().execution_options(azcost_readonly=True) as conn:
        rows = conn.execute(sa.select(ROLLUP_TAGS).order_by(ROLLUP_TAGS.c.key))
        return [RollupTag(r.key, r.added_at, bool(r.ready), r.backfilled_through) for r in rows]


def ready_tags(conn: Connection) -> dict[str, bool]:
    """Each key rolled up, and whether its rollup is ready to answer audits."""
    query = sa.select(ROLLUP_TAGS.c.key, ROLLUP_TAGS.c.ready)
    return {key: bool(ready) for key, ready in conn.execute(query)}


def remove_rollup_tag(engine: Engine, key: str) -> bool:
    """Stop rolling up *key* and drop its rollup; False if it was not rolled up."""
    with engine.begin() as conn:
        _begin(conn)
        found = conn.execute(ROLLUP_TAGS.delete().where(ROLLUP_TAGS.c.key == key)).rowcount
        table = TAG_DAILY[conn.dialect.name]
        conn.execute(table.delete().where(table.c.tag_key == key))
    return bool(found)


Progress = Callable[[int, int], None]
"""Called after each backfill step with (calls counted so far, calls to count)."""


def backfill_rollup_tag(
    engine: Engine, key: str, *, batch: int = 100_000, progress: Progress | None = None
) -> int:
    """Count the calls written before *key* was added, *batch* at a time; the number counted.

    Resumable and idempotent: each step commits its sums with how far it got.
    """
    with engine.connect() as conn:
        state = conn.execute(sa.select(ROLLUP_TAGS).where(ROLLUP_TAGS.c.key == key)).first()
        if state is None:
            raise LedgerError(f"tag {key!r} is not rolled up (azcost ledger rollup add {key})")
        total = 0
        if not state.ready:
            query = sa.select(sa.func.count()).where(CALLS.c.run_id > state.backfilled_through)
            total = int(conn.execute(query).scalar_one())
    done = 0
    while True:
        with engine.begin() as conn:
            counted = _backfill_step(conn, key, max(batch, 1))
        if counted is None:
            return done
        done += counted
        if progress is not None:
            progress(done, max(total, done))


def _backfill_step(conn: Connection, key: str, step: int) -> int | None:
    """One step in the caller's transaction: the calls counted, None when ready."""
    dialect = conn.dialect.name
    lock = " FOR UPDATE" if dialect == "postgresql" else ""
    mark = "%s" if dialect == "postgresql" else "?"
    state = conn.exec_driver_sql(
        f"SELECT ready, backfilled_through FROM {ROLLUP_TAGS.name} WHERE key = {mark}{lock}",
        (key,),
    ).first()
    if state is None or state[0]:
        return None
    after = state[1]
    upper = conn.execute(
        sa.select(CALLS.c.run_id)
        .where(CALLS.c.run_id > after)
        .order_by(CALLS.c.run_id)
        .offset(step - 1)
        .limit(1)
    ).scalar()
    where = f"k.key = {mark} AND c.run_id > {mark}"
    params: tuple[str, ...] = (key, after)
    if upper is not None:
        where += f" AND c.run_id <= {mark}"
        params += (upper,)
    cur = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        if dialect == "postgresql":
            cur.execute(tag_rollup_sql(dialect, CALLS.name, where), params)
        else:
            batch = tag_rollup_sql(dialect, CALLS.name, where)
            rows = tag_rollup_sql(dialect, CALLS.name, where, per_row=True)
            run_upsert(cur, batch, rows, params)
    finally:
        cur.close()
    done = ROLLUP_TAGS.update().where(ROLLUP_TAGS.c.key == key)
    if upper is not None:
        conn.execute(done.values(backfilled_through=upper))
        return step
    conn.execute(done.values(ready=True, backfilled_through=""))
    count = sa.select(sa.func.count()).where(CALLS.c.run_id > after)
    return int(conn.execute(count).scalar_one())
