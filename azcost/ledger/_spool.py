"""The ledger's local spool: records that could not reach the database, as JSON lines.

One spool file per ledger URL, under ``<data dir>/spool/``. Several processes may
append to it and replay it; on POSIX an exclusive ``flock`` on the file serialises
them, so a replay never truncates a line it did not read. Replay is idempotent (the
database skips known run ids), so a crash between commit and truncation only means
the same records are offered again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from .._paths import data_dir
from ._record import CallRecord

try:  # POSIX only; elsewhere one process per spool is assumed
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]  # the lock becomes a no-op

__all__ = ["Spool", "spool_path"]


def spool_path(url: str) -> Path:
    """The spool file of a ledger URL: ``<data dir>/spool/<sha256(url)[:16]>.jsonl``."""
    digest = hashlib.sha256(url.encode()).hexdigest()[:16]
    return data_dir() / "spool" / f"{digest}.jsonl"


@contextmanager
def _locked(path: Path, mode: str) -> Iterator[IO[Any]]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, mode, encoding="utf-8") as f:
        if fcntl is not None:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield f
        finally:
            if fcntl is not None:
                fcntl.flock(f.fileno(), fcntl.LOCK_UN)


class Spool:
    """Append-only JSONL file of records waiting for the database."""

    def __init__(self, path: Path) -> None:
        self.path = path
        """Where the spooled records are."""

    def append(self, records: Iterable[CallRecord]) -> int:
        """Append records (flushed to the OS before returning); return how many."""
        lines = [rec.to_json() + "\n" for rec in records]
        with _locked(self.path, "a") as f:
            f.writelines(lines)
            f.flush()
        return len(lines)

    def reject(self, rec: CallRecord, exc: BaseException) -> Path:
        """Set aside a record the database refused, with the reason; return the file."""
        path = self.path.with_suffix(".rejected.jsonl")
        reason = f"{type(exc).__name__}: {exc}"
        try:
            line = json.dumps(rec.to_dict() | {"_rejected": reason}, default=repr, sort_keys=True)
        except Exception:  # not even serialisable (keys that do not sort...): what can be shown
            shown = {"run_id": str(getattr(rec, "run_id", None)), "repr": repr(rec)[:2000]}
            line = json.dumps(shown | {"_rejected": reason}, sort_keys=True)
        with _locked(path, "a") as f:
            f.write(line + "\n")
        return path

    def pending(self) -> bool:
        """True when the spool holds anything."""
        try:
            return self.path.stat().st_size > 0
        except OSError:
            return False

    def count(self) -> int:
        """Number of records waiting."""
        try:
            with open(self.path, encoding="utf-8") as f:
                return sum(1 for line in f if line.strip())
        except OSError:
            return 0

    def replay(self, write: Callable[[list[CallRecord]], object], batch: int = 5000) -> int:
        """Hand every spooled record to ``write`` (which commits), then empty the spool.

        A line that cannot be parsed (a torn write) is moved to ``<spool>.bad``, not lost.
        If ``write`` raises, the spool is left as it was (its records are offered again).
        """
        if not self.pending():
            return 0
        with _locked(self.path, "r+") as f:
            records: list[CallRecord] = []
            bad: list[str] = []
            for line in f:
                if not line.strip():
                    continue
                try:
                    records.append(CallRecord.from_json(line))
                except (ValueError, TypeError):
                    bad.append(line if line.endswith("\n") else line + "\n")
            for start in range(0, len(records), batch):
                write(records[start : start + batch])
            if bad:
                with open(self.path.with_suffix(".bad"), "a", encoding="utf-8") as out:
                    out.writelines(bad)
            f.seek(0)
            f.truncate()
        return len(records)
