"""Ledger rows for SQLite, built fast.

What costs on SQLite is Python's per-value work: sqlite3 binds None and bool through its
adaptation lookup (several times the cost of a str or int), and the per-row trigger
upserted the rollup once per call. So rows are built in one pass from one attrgetter
call, bools become 0/1 (what SQLite stores for them anyway), and each batch is grouped
by which columns are NULL: one INSERT per pattern with NULL written into the statement.
The rollup is then added per batch (ROLLUP_BATCH_SQL). The stored values are those of
row_of(rec, text_money=True), column for column.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from operator import attrgetter, is_, itemgetter
from typing import Any

from ._record import CallRecord
from ._tables import CALLS, COLUMNS, pico, tags_meta_json

__all__ = ["MAX_ROWID_SQL", "sqlite_batches"]

_SQLITE_FIELDS = attrgetter(
    "run_id", "timestamp", "deployment", "reported_model", "model", "model_version",
    "deployment_type", "region", "resource", "match", "input_tokens", "cached_input_tokens",
    "output_tokens", "reasoning_tokens", "audio_input_tokens", "audio_output_tokens",
    "input_cost", "cached_input_cost", "output_cost", "audio_input_cost", "audio_output_cost",
    "total_cost", "currency", "pricing_version", "price_effective_from", "priced",
    "unpriced_reason", "usage_known", "tags", "metadata",
)  # fmt: skip
_UTC = dt.timezone.utc
_MINUTES: dict[tuple[int, int, int, int, int], tuple[str, str]] = {}
_INT64 = 2**63
_NONES = (None,) * len(COLUMNS)
_INSERTS: dict[tuple[bool, ...], str] = {}
MAX_ROWID_SQL = f"SELECT coalesce(max(rowid), 0) FROM {CALLS.name}"


def _ts_and_day(ts: dt.datetime) -> tuple[str, str]:
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


def _pico_of_text(text: str, total: Any) -> int | None:
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
    (run_id, ts, deployment, reported_model, model, model_version, deployment_type, region,
     resource, match, input_tokens, cached_input_tokens, output_tokens, reasoning_tokens,
     audio_input_tokens, audio_output_tokens, input_cost, cached_input_cost, output_cost,
     audio_input_cost, audio_output_cost, total_cost, currency, pricing_version, eff, priced,
     unpriced_reason, usage_known, tags, metadata) = _SQLITE_FIELDS(rec)  # fmt: skip
    if total_cost is None:
        total = pico = None
    else:
        total = format(total_cost, "f")  # exact plain decimal text, never an exponent
        pico = _pico_of_text(total, total_cost)
    if tags or metadata:
        tags_json, meta_json, labels_json = tags_meta_json(tags, metadata)
    else:
        tags_json, meta_json, labels_json = "[]", "{}", "{}"
    ts_text, day = _ts_and_day(ts)
    return (
        run_id, ts_text, day, deployment, reported_model, model, model_version,
        deployment_type, region, match, input_tokens, cached_input_tokens, output_tokens,
        reasoning_tokens, audio_input_tokens, audio_output_tokens,
        None if input_cost is None else format(input_cost, "f"),
        None if cached_input_cost is None else format(cached_input_cost, "f"),
        None if output_cost is None else format(output_cost, "f"),
        None if audio_input_cost is None else format(audio_input_cost, "f"),
        None if audio_output_cost is None else format(audio_output_cost, "f"),
        total, currency, pricing_version, None if eff is None else eff.isoformat(),
        1 if priced else 0, unpriced_reason, 1 if usage_known else 0,
        tags_json, meta_json, pico, labels_json, resource,
    )  # fmt: skip


def _sqlite_insert(nulls: tuple[bool, ...]) -> str:
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
        out.append((_sqlite_insert(nulls), list(map(values, group))))
    return out
