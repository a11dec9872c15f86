"""The spend ledger: every completed call recorded, without slowing or breaking it.

``Ledger.record`` in the default ``durability="async"`` mode appends the record to an
in-memory queue (about a microsecond) and a background thread commits queued records
in batches. ``flush()`` returns once everything recorded before it is committed (or
spooled); open ledgers are flushed at interpreter exit. ``durability="sync"`` commits
before ``record`` returns.

Database trouble never reaches the caller: the batch goes to a local JSONL spool
(:mod:`azcost.ledger._spool`), a :class:`~azcost.errors.LedgerWarning` says so once per outage,
and the spool is replayed after the next successful write. When the queue is full
(``max_queue`` records waiting, e.g. a database much slower than the calls), ``record``
appends the record to the spool from the calling thread instead of blocking on the
database: slower for that call, never dropped.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import threading
import time
import warnings
import weakref
from collections import deque
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ..errors import LedgerError, LedgerWarning
from ._db import (
    check_sqlite_file,
    create_ledger_engine,
    display_url,
    require_ledger,
    resolve_url,
    rollup_tags_option,
    sqlite_path,
)
from ._insert import insert_records, refused_record
from ._migrations import migrate
from ._record import CallRecord
from ._rollup_tags import keep_tags
from ._spool import Spool, spool_path
from ._sums import ledger_stats
from ._transfer import IMPORT_BATCH, ImportSummary, Progress, import_jsonl, iter_records

__all__ = ["Durability", "Ledger"]

Durability = Literal["async", "sync"]


class _FlushMarker:
    __slots__ = ("done",)

    def __init__(self) -> None:
        self.done = threading.Event()


_LIVE: weakref.WeakSet[Ledger] = weakref.WeakSet()


class Ledger:
    """Where priced calls are recorded: SQLite (default) or PostgreSQL, by URL."""

    def __init__(
        self,
        url: str | None = None,
        *,
        durability: Durability = "async",
        batch_size: int = 2000,
        max_queue: int = 200_000,
        flush_interval: float = 0.2,
        retry_interval: float = 2.0,
        create: bool = True,
        rollup_tags: Iterable[str] | None = None,
    ) -> None:
        if durability not in ("async", "sync"):
            raise LedgerError(f"durability must be 'async' or 'sync', not {durability!r}")
        self.url = resolve_url(url)
        """The resolved database URL (see :func:`azcost.ledger.resolve_url`)."""
        file = sqlite_path(self.url)
        if file is not None:
            check_sqlite_file(file)
        self.durability: Durability = durability
        """``async``: queued, committed in batches; ``sync``: committed before returning."""
        self.spool = Spool(spool_path(self.url))
        """Where records wait while the database is unreachable."""
        self._sync = durability == "sync"
        self._batch_size = batch_size
        self._max_queue = max_queue
        self._interval = flush_interval
        self._retry_interval = retry_interval
        self._create = create
        self._rollup_tags = rollup_tags_option(rollup_tags)  # default: $AZCOST_LEDGER_ROLLUP_TAGS
        self._engine: Engine | None = None
        self._queue: deque[CallRecord | _FlushMarker] = deque()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._write_lock = threading.RLock()
        self._start_lock = threading.Lock()
        self._stopping = False
        self._closed = False
        self._down_until = 0.0
        self._outage = False
        _LIVE.add(self)

    def __repr__(self) -> str:
        return f"<Ledger {display_url(self.url)} {self.durability}>"

    # ------------------------------------------------------------------ writing

    def record(self, rec: CallRecord) -> None:
        """Record one call; never raises for database trouble (see the module docstring)."""
        if self._sync or self._closed:
            self._write([rec])
            if self._closed:  # a closed ledger keeps no connection open between records
                self._release_engine()
            return
        queue = self._queue
        if len(queue) >= self._max_queue:
            self._spill([rec], "the in-memory queue is full")
            return
        queue.append(rec)
        if self._thread is None:
            self._start()
        if len(queue) >= self._batch_size and not self._wake.is_set():
            self._wake.set()  # Event.set takes a lock: once per wake-up, not once per record

    def flush(self, timeout: float | None = None) -> None:
        """Wait until every record passed to :meth:`record` so far is committed or spooled."""
        if self._sync or (self._thread is None and not self._queue):
            return
        if self._thread is None or not self._thread.is_alive():
            self._drain()
            return
        marker = _FlushMarker()
        self._queue.append(marker)
        self._wake.set()
        marker.done.wait(timeout)

    def close(self) -> None:
        """Flush, stop the writer and release the database connections."""
        if self._closed:
            return
        self.flush()
        self._closed = True
        thread = self._thread
        if thread is not None:
            self._stopping = True
            self._wake.set()
            thread.join()
        self._drain()
        self._release_engine()
        _LIVE.discard(self)

    def _release_engine(self) -> None:
        with self._write_lock:
            if self._engine is not None:
                self._engine.dispose()
                self._engine = None

    def __enter__(self) -> Ledger:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is not None:
                return
            thread = threading.Thread(target=self._run, name="azcost-ledger-writer", daemon=True)
            thread.start()
            self._thread = thread

    def _run(self) -> None:
        while True:
            self._wake.wait(self._interval)
            self._wake.clear()
            try:
                self._drain()
            except Exception as exc:  # pragma: no cover - _write never raises; stay alive anyway
                warnings.warn(f"azcost ledger writer: {exc!r}", LedgerWarning, stacklevel=1)
            if self._stopping and not self._queue:
                return

    def _drain(self) -> None:
        """Write out everything queued, in batches; release flush markers in order."""
        queue = self._queue
        batch: list[CallRecord] = []
        while queue:
            try:
                item = queue.popleft()
            except IndexError:  # emptied by another drainer
                break
            if isinstance(item, _FlushMarker):
                if batch:
                    self._write(batch)
                    batch = []
                item.done.set()
                continue
            batch.append(item)
            if len(batch) >= self._batch_size:
                self._write(batch)
                batch = []
        if batch:
            self._write(batch)

    def _write(self, records: list[CallRecord]) -> None:
        """Commit records, or spool them; never raises."""
        with self._write_lock:
            if time.monotonic() < self._down_until:
                self._spill(records, "the database was unreachable moments ago")
                return
            try:
                self._commit_or_reject(records)
            except Exception as exc:  # the database is unreachable, locked, full...: spool
                self._down_until = time.monotonic() + self._retry_interval
                self._spill(records, f"{type(exc).__name__}: {exc}".splitlines()[0])
                return
            self._down_until = 0.0
            if self._outage or self.spool.pending():
                self._replay()

    def _commit_or_reject(self, records: list[CallRecord]) -> None:
        """Commit; a record the database or the conversion refuses is set aside, not retried.

        Raises only for trouble with the database itself (the caller spools the batch).
        """
        try:
            self._commit(records)
            return
        except Exception as exc:
            if not refused_record(exc):
                raise
            if len(records) == 1:
                self._reject(records[0], exc)
                return
        for rec in records:  # find the refused record(s); the others are committed
            self._commit_or_reject([rec])

    def _reject(self, rec: CallRecord, exc: BaseException) -> None:
        run_id = getattr(rec, "run_id", None)
        where = self.spool.reject(rec, exc)
        warnings.warn(
            f"azcost ledger {display_url(self.url)}: record {run_id!r} refused "
            f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); "
            f"kept in {where}",
            LedgerWarning,
            stacklevel=2,
        )

    def _replay(self) -> None:
        try:
            self.spool.replay(self._commit_or_reject)
        except Exception:  # still failing: keep the spool for the next success
            return
        self._outage = False

    def _spill(self, records: list[CallRecord], why: str) -> None:
        try:
            self.spool.append(records)
        except OSError as exc:  # pragma: no cover - data dir unwritable as well
            warnings.warn(
                f"azcost ledger {display_url(self.url)}: {len(records)} record(s) LOST: "
                f"database failed ({why}) and the spool {self.spool.path} is unwritable ({exc})",
                LedgerWarning,
                stacklevel=2,
            )
            return
        except Exception:  # a record that cannot be serialised: spool the others one by one
            for rec in records:
                try:
                    self.spool.append([rec])
                except Exception as exc:
                    self._reject(rec, exc)
        if not self._outage:
            self._outage = True
            warnings.warn(
                f"azcost ledger {display_url(self.url)} not written ({why}); records are "
                f"kept in {self.spool.path} and will be replayed on the next successful write",
                LedgerWarning,
                stacklevel=2,
            )

    # ------------------------------------------------------------------ database

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine, schema migrated; :class:`LedgerError` if unreachable."""
        try:
            return self._connect()
        except LedgerError:
            raise
        except (sa.exc.SQLAlchemyError, OSError) as exc:
            raise LedgerError(
                f"cannot open ledger {display_url(self.url)}: {str(exc).splitlines()[0]}"
            ) from exc

    def _connect(self) -> Engine:
        engine = self._engine
        if engine is None:
            with self._write_lock:
                if self._engine is None:
                    if not self._create:
                        require_ledger(self.url)
                    new = create_ledger_engine(self.url)
                    try:
                        migrate(new)
                        keep_tags(new, self._rollup_tags, display_url(self.url))
                    except BaseException:
                        new.dispose()
                        raise
                    self._engine = new
                engine = self._engine
        return engine

    def _commit(self, records: list[CallRecord]) -> int:
        """Check and insert records in one transaction; known run ids are skipped."""
        return insert_records(self._connect(), records)

    # ------------------------------------------------------------------ reading and moving

    def read_engine(self) -> Engine:
        """The engine for reads (no write lock taken on SQLite); flushes pending records first."""
        self.flush()
        return self.engine.execution_options(azcost_readonly=True)

    def iter_records(self, batch: int = 5000) -> Iterator[CallRecord]:
        """Every record, oldest first."""
        return iter_records(self.read_engine(), batch)

    def import_jsonl(
        self,
        path: str | Path,
        batch: int = IMPORT_BATCH,
        *,
        rejected: Path | None = None,
        progress: Progress | None = None,
    ) -> ImportSummary:
        """Import a JSONL file of records, checked line by line; idempotent.

        A bad line is counted, reported in the summary and copied to ``rejected``
        (default ``FILE.rejected``); the other lines are imported.
        """
        return import_jsonl(self.engine, path, batch=batch, rejected=rejected, progress=progress)

    def stats(self) -> dict[str, Any]:
        """Counts, time span, spend per currency, damaged records, schema and spool state."""
        path = sqlite_path(self.url)
        found = ledger_stats(self.read_engine())
        return {
            "url": display_url(self.url),
            "path": None if path is None else str(path),
            "size_bytes": path.stat().st_size if path is not None and path.exists() else None,
            **found,
            "spool": str(self.spool.path),
            "spooled_records": self.spool.count(),
        }


# --------------------------------------------------------------------------- process hooks


@atexit.register
def _flush_all_at_exit() -> None:
    for ledger in list(_LIVE):
        with contextlib.suppress(Exception):  # exit must go on
            ledger.close()


def _after_fork_in_child() -> None:
    # The writer thread does not survive fork, and the parent keeps writing what it queued.
    for ledger in list(_LIVE):
        ledger._queue = deque()
        ledger._wake = threading.Event()
        ledger._thread = None
        ledger._write_lock = threading.RLock()
        ledger._start_lock = threading.Lock()
        if ledger._engine is not None:
            ledger._engine.dispose(close=False)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
