"""Moving records in and out of a ledger: JSONL import and streamed reads.

Import opens the file through the input boundary (:func:`azcost._input.open_binary`:
a regular file, size-capped, gzip allowed), reads it as bytes, line by line, and
checks every line. A batch of lines is first read as columns
(:mod:`azcost.ledger._columns`: a few passes per field over the whole batch); a batch
with a line that is not plainly a good record is read again line by line
(:mod:`azcost.ledger._checks`), and each bad line is reported with its number, copied
verbatim to the rejected file and skipped. The good lines of a batch go in one
transaction, so a batch is never half written. Known run ids are skipped, so importing
a file again adds nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from .._input import MAX_LINE_BYTES, open_binary
from ..errors import LedgerError
from ._checks import RecordError, record_from_json
from ._columns import collector_paused
from ._db import display_url
from ._insert import insert_columns, insert_records
from ._json_columns import columns_of_json
from ._record import CallRecord
from ._tables import CALLS, COLUMNS, record_from_row

__all__ = ["IMPORT_BATCH", "ImportSummary", "Progress", "import_jsonl", "iter_records"]

Progress = Callable[[int, int], None]
"""Called after each batch with (records so far, bytes read so far)."""

_KEEP_PROBLEMS = 20


@dataclass(slots=True)
class ImportSummary:
    """What an import did."""

    added: int = 0
    """Records added."""
    present: int = 0
    """Records whose run id the ledger already held (or that came twice in the file)."""
    rejected: int = 0
    """Lines refused (each reported and copied to :attr:`rejected_path`)."""
    rejected_path: Path | None = None
    """Where the refused lines were copied, verbatim (not those over the line limit)."""
    problems: list[str] = field(default_factory=list)
    """The first refused lines' reports, ``file:line: field 'x': what is wrong``."""


class _Rejects:
    """The rejected lines' file, created on the first bad line."""

    def __init__(self, path: Path, summary: ImportSummary) -> None:
        self.path = path
        self.summary = summary
        self.out: IO[bytes] | None = None

    def add(self, where: str, line: bytes | None, why: str) -> None:
        """Count and report a refused line; copy it unless it is None (too long to keep)."""
        summary = self.summary
        summary.rejected += 1
        if len(summary.problems) < _KEEP_PROBLEMS:
            summary.problems.append(f"{where}: {why}")
        if line is None:
            return
        if self.out is None:
            try:
                self.out = open(self.path, "wb")  # noqa: SIM115 - closed by close()
            except OSError as exc:
                raise LedgerError(f"cannot write {self.path}: {exc.strerror}") from None
            summary.rejected_path = self.path
        self.out.write(line if line.endswith(b"\n") else line + b"\n")

    def close(self) -> None:
        if self.out is not None:
            self.out.close()


def rejected_path_of(path: Path) -> Path:
    """Where ``ledger import FILE`` puts refused lines: ``FILE.rejected`` beside it."""
    return path.with_name(path.name + ".rejected")


def _lines(f: IO[bytes]) -> Iterator[tuple[bytes, bool]]:
    """Each line and whether it fits :data:`MAX_LINE_BYTES` (a longer one is cut, then skipped)."""
    while True:
        line = f.readline(MAX_LINE_BYTES + 1)
        if not line:
            return
        if len(line) <= MAX_LINE_BYTES or line.endswith(b"\n"):
            yield line, True
            continue
        yield line[:200], False
        while line and not line.endswith(b"\n"):  # skip the rest of the long line
            line = f.readline(MAX_LINE_BYTES)


def _parse(raw: bytes) -> CallRecord:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RecordError(
            f"not UTF-8: byte 0x{raw[exc.start]:02x} at column {exc.start + 1}"
        ) from None
    return record_from_json(text)


IMPORT_BATCH = 2000
"""Lines per transaction: 2,000 imported ~10% faster than 5,000 here (smaller batches fit
the CPU caches better), and a bad line sends fewer good ones down the slow path."""


def import_jsonl(
    engine: Engine,
    path: str | Path,
    *,
    batch: int = IMPORT_BATCH,
    rejected: Path | None = None,
    progress: Progress | None = None,
) -> ImportSummary:
    """Import a JSONL file of records (see the module docstring); idempotent."""
    path = Path(path)
    summary = ImportSummary()
    rejects = _Rejects(rejected or rejected_path_of(path), summary)
    pending: list[tuple[int, bytes | None]] = []  # (line number, line); None: too long
    read = 0

    def commit() -> None:
        first = pending[0][0]
        try:
            n, offered = _insert_lines(engine, path, pending, rejects)
        except (sa.exc.SQLAlchemyError, OSError) as exc:
            raise LedgerError(
                f"cannot write ledger {display_url(str(engine.url))}: "
                f"{str(exc).splitlines()[0]} ({summary.added} record(s) before line "
                f"{first} were imported; re-run: known run ids are skipped)"
            ) from None
        summary.added += n
        summary.present += offered - n
        pending.clear()
        if progress is not None:
            progress(summary.added + summary.present + summary.rejected, read)

    f = open_binary(path)  # a regular file only, capped; InputFileError names it
    try:
        with f:
            for lineno, (line, whole) in enumerate(_lines(f), 1):
                read += len(line)
                if whole and line.isspace():  # a blank line (no copy, unlike strip)
                    continue
                pending.append((lineno, line if whole else None))
                if len(pending) >= batch:
                    commit()
            if pending:
                commit()
    finally:
        rejects.close()
    return summary


def _insert_lines(
    engine: Engine, path: Path, lines: list[tuple[int, bytes | None]], rejects: _Rejects
) -> tuple[int, int]:
    """Insert one batch of lines in one transaction: (records added, records offered).

    The batch is read as columns when every line is plainly a good record; otherwise
    line by line, each bad line reported and set aside.
    """
    raw = [line for _, line in lines]
    if None not in raw:
        with collector_paused():  # the decoder's tuples would start ~7 collections a line
            cols = columns_of_json(raw)  # type: ignore[arg-type]  # no None, just checked
            added = None if cols is None else insert_columns(engine, cols, parse=True)
        if added is not None:
            return added, len(lines)
    records: list[CallRecord] = []
    for lineno, line in lines:
        if line is None:
            too_long = f"line longer than {MAX_LINE_BYTES:,} bytes (not kept)"
            rejects.add(f"{path}:{lineno}", None, too_long)
            continue
        try:
            records.append(_parse(line))
        except RecordError as exc:
            rejects.add(f"{path}:{lineno}", line, str(exc))
    return insert_records(engine, records, checked=True), len(records)


def count_records(engine: Engine) -> int:
    """How many records the ledger holds."""
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(CALLS)).scalar_one())


def iter_records(engine: Engine, batch: int = 5000) -> Iterator[CallRecord]:
    """Every record, oldest first, read in batches."""
    query = sa.select(*(CALLS.c[name] for name in COLUMNS)).order_by(CALLS.c.ts, CALLS.c.run_id)
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=batch).execute(query)
        for row in result:
            yield record_from_row(row)
