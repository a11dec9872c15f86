"""Ledger rows for SQLite, built fast.

What costs on SQLite is Python's per-value work: sqlite3 binds None and bool through its
adaptation lookup (several times the cost of a str or int). So rows are built in one pass
from one attrgetter call, bools become 0/1 (what SQLite stores for them anyway), and each
batch is grouped by which columns are NULL: one INSERT per pattern with NULL written into
the statement. The writer adds the batch to the rollup afterwards (ROLLUP_BATCH_SQL). The
stored values are those of row_of(rec, text_money=True), column for column.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from operator import attrgetter, is_, itemgetter
from typing import Any

from ._record import COST_FIELDS, TOKEN_FIELDS, CallRecord
from ._tables import CALLS, COLUMNS, IDENTITY_FIELDS, pico, tags_meta_json

__all__ = ["MAX_ROWID_SQL", "pico_of_text", "sqlite_batches", "sqlite_insert", "ts_and_day"]

_HEAD = ("run_id", "timestamp", *IDENTITY_FIELDS)
_TAIL = (
    "currency", "pricing_version", "price_effective_from", "priced", "unpriced_reason",
    "usage_known", "tags", "metadata", "resource", "service_tier",
)  # fmt: skip
_SQLITE_FIELDS = attrgetter(*_HEAD, *TOKEN_FIELDS, *COST_FIELDS, *_TAIL)
_COSTS = slice(len(_HEAD) + len(TOKEN_FIELDS), len(_HEAD) + len(TOKEN_FIELDS) + len(COST_FIELDS))
_KEPT = slice(2, _COSTS.start)  # identity and token values, stored as they are
_UTC = dt.timezone.utc
_MINUTES: dict[tuple[int, int, int, int, int], tuple[str, str]] = {}
_INT64 = 2**63
_NONES = (None,) * len(COLUMNS)
_INSERTS: dict[tuple[bool, ...], str] = {}
MAX_ROWID_SQL = f"SELECT coalesce(max(rowid), 0) FROM {CALLS.name}"


def ts_and_day(ts: dt.datetime) -> tuple[str, str]:
    """``ts.isoformat(timespec="microseconds")`` in UTC and its day; memoised per minute."""
    if ts.tzinfo is not _UTC:
        ts = ts.replace(tzinfo=_UTC) if ts.tzinfo is None else ts.astimezone(_UTC)
    key = (ts.year, ts.month, ts.day, ts.hour, ts.minute)
    found = _MINUTES.get(key)
    if found is None:
        if len(_MINUTES) >= 4096:
            _MINUTES.clear()
        text = ts.isoformat(timespec="minutes")  # YYYY-MM-DDTHH:MM+00:00
        found = _MINUTES[key] = (text[:16] + ":", text[:10])
    return f"{found[0]}{ts.second:02d}.{ts.microsecond:06d}+00:00", found[1]


def pico_of_text(text: str, total: Any = None) -> int | None:
    """The exact total in 1e-12 units from its plain decimal text (as ``pico(total)``)."""
    whole, _, frac = text.partition(".")
    if len(frac) > 12:
        if frac[12:].strip("0"):
            return None
        frac = frac[:12]
    try:
        value = int(whole + frac.ljust(12, "0"))
    except ValueError:  # NaN, Infinity: leave them to the general rule
        return pico(total)
    return value if -_INT64 < value < _INT64 else None


def _sqlite_row(rec: CallRecord) -> tuple[Any, ...]:
    """One record in :data:`COLUMNS` order, as :func:`row_of` with text money, bools as 0/1."""
    values = _SQLITE_FIELDS(rec)
    # format(..., "f"): exact plain decimal text, never an exponent
    costs = [None if c is None else format(c, "f") for c in values[_COSTS]]
    (currency, pricing_version, eff, priced, unpriced_reason, usage_known, tags,
     metadata, resource, service_tier) = values[_COSTS.stop :]  # fmt: skip
    total = costs[-1]
    pico = None if total is None else pico_of_text(total, values[_COSTS.stop - 1])
    if tags or metadata:
        tags_json, meta_json, labels_json = tags_meta_json(tags, metadata)
    else:
        tags_json, meta_json, labels_json = "[]", "{}", "{}"
    ts_text, day = ts_and_day(values[1])
    return (
        values[0], ts_text, day, *values[_KEPT], *costs,
        currency, pricing_version, None if eff is None else eff.isoformat(),
        1 if priced else 0, unpriced_reason, 1 if usage_known else 0,
        tags_json, meta_json, pico, labels_json, resource, service_tier,
    )  # fmt: skip


def sqlite_insert(nulls: tuple[bool, ...]) -> str:
    """The idempotent INSERT for rows whose NULL columns are ``nulls``."""
    sql = _INSERTS.get(nulls)
    if sql is None:
        values = ", ".join("NULL" if null else "?" for null in nulls)
        sql = _INSERTS[nulls] = (
            f"INSERT INTO {CALLS.name} ({', '.join(COLUMNS)}) VALUES ({values}) "
            "ON CONFLICT (run_id) DO NOTHING"
        )
    return sql


def sqlite_batches(records: Iterable[CallRecord]) -> list[tuple[str, list[tuple[Any, ...]]]]:
    """(INSERT, rows) pairs for ``executemany``; a run id repeated in the batch: first wins."""
    rows = list(map(_sqlite_row, records))
    if len(set(map(itemgetter(0), rows))) < len(rows):  # rare: keep each id's first row
        first: dict[Any, tuple[Any, ...]] = {}
        for row in rows:
            first.setdefault(row[0], row)
        rows = list(first.values())
    groups: dict[tuple[bool, ...], list[tuple[Any, ...]]] = {}
    for row in rows:
        nulls = tuple(map(is_, row, _NONES))
        group = groups.get(nulls)
        if group is None:
            groups[nulls] = [row]
        else:
            group.append(row)
    out = []
    for nulls, group in groups.items():
        values = itemgetter(*(i for i, null in enumerate(nulls) if not null))
        out.append((sqlite_insert(nulls), list(map(values, group))))
    return out
