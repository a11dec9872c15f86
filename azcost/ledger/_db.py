"""The ledger's database: URL resolution and engine set-up for SQLite and PostgreSQL."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from .._input import not_regular_problem
from .._paths import data_dir
from ..errors import LedgerError
from ._rollup_tags import check_tag_key, parse_tag_keys

__all__ = [
    "check_sqlite_file",
    "create_ledger_engine",
    "default_url",
    "display_url",
    "is_sqlite",
    "require_ledger",
    "resolve_url",
    "rollup_tags_option",
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
    except (sa.exc.ArgumentError, ValueError) as exc:  # ValueError: a port that is no number
        raise LedgerError(f"not a database URL: {display_url(chosen)!r} ({exc})") from None
    backend = parsed.get_backend_name()
    if backend not in _SUPPORTED:
        raise LedgerError(
            f"unsupported ledger URL {display_url(chosen)!r}: "
            "use sqlite:///PATH or postgresql+psycopg://USER@HOST/DB"
        )
    if backend == "postgresql" and parsed.drivername == "postgresql":
        chosen = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return chosen


def rollup_tags_option(keys: Iterable[str] | None) -> tuple[str, ...]:
    """The tag keys to roll up: the argument, else ``$AZCOST_LEDGER_ROLLUP_TAGS`` (``a,b``)."""
    if keys is None:
        return tuple(parse_tag_keys(os.environ.get("AZCOST_LEDGER_ROLLUP_TAGS", "")))
    if isinstance(keys, str):
        raise LedgerError(f"rollup_tags must be a list of keys, not the string {keys!r}")
    return tuple(check_tag_key(k) for k in keys)


def display_url(url: str) -> str:
    """The URL with any password masked, for messages."""
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except (sa.exc.ArgumentError, ValueError):
        return re.sub(r"(://[^:/@]*:)[^@/]*@", r"\1***@", url)  # never echo a password


def is_sqlite(url: str) -> bool:
    """True for a SQLite URL."""
    return sa.make_url(url).get_backend_name() == "sqlite"


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL; None for PostgreSQL or an in-memory database."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def check_sqlite_file(path: Path) -> None:
    """Refuse a SQLite path that is a FIFO, a device or a folder (SQLite would hang or fail)."""
    problem = not_regular_problem(path)
    if problem is not None:
        raise LedgerError(f"{path}: {problem}")


def require_ledger(url: str) -> None:
    """Raise :class:`LedgerError` unless a ledger exists at *url* (reading never creates one)."""
    path = sqlite_path(url)
    if path is not None:
        if not path.is_file():
            what = "is not a file" if path.exists() else "does not exist"
            raise LedgerError(f"no ledger at {path}: the file {what}")
        return
    if not is_sqlite(url):
        engine = create_ledger_engine(url)
        try:
            with engine.connect() as conn:
                found = sa.inspect(conn).has_table("azcost_calls")
        except sa.exc.SQLAlchemyError as exc:
            raise LedgerError(
                f"cannot open ledger {display_url(url)}: {str(exc).splitlines()[0]}"
            ) from None
        finally:
            engine.dispose()
        if not found:
            raise LedgerError(f"no ledger at {display_url(url)}: it has no azcost_calls table")


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
        check_sqlite_file(path)
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
