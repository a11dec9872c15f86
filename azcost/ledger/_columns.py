"""Ledger rows built a batch at a time, column by column.

Checking and converting records one at a time costs a few Python operations per field
per record. Here a batch becomes columns (one tuple per field), each column is checked
by a few passes that run in C (the set of its types, its smallest and largest value, its
distinct values), converted, and the rows are zipped back together. The checks accept
only what :func:`~azcost.ledger._checks.check_record` (and, for JSON lines,
:func:`~azcost.ledger._checks.record_from_dict`) accepts; where a column is not plainly
within bounds the builder returns None and the caller takes the record-by-record path,
whose checks name the record and the field. The rows hold the values of
``row_of(rec, text_money=True)``, value for value (bools as 0/1 on SQLite).
"""

from __future__ import annotations

import datetime as dt
import gc
import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import fields
from decimal import Decimal
from itertools import chain, compress, repeat
from operator import attrgetter, is_, is_not, itemgetter
from typing import Any, NamedTuple

from ._checks import MAX_COST, MAX_TEXT_CHARS, MAX_TOKENS
from ._daily import ALL_NONE, NO_NONE, SOME_NONE, Converted, daily_rows
from ._label_columns import Refused, labels_columns
from ._record import COST_FIELDS, TOKEN_FIELDS, CallRecord
from ._sqlite_rows import pico_of_text, ts_and_day
from ._tables import CALLS, COLUMNS

__all__ = [
    "FIELDS",
    "FIELD_AT",
    "NONE_TYPE",
    "Column",
    "Refused",
    "SqliteBatch",
    "collector_paused",
    "columns_of_records",
    "pg_rows",
    "sqlite_batches_of_columns",
]

Column = Sequence[Any]
Batches = list[tuple[str, Iterable[tuple[Any, ...]]]]

FIELDS = tuple(f.name for f in fields(CallRecord))  # the order of the input columns
FIELD_AT = {name: i for i, name in enumerate(FIELDS)}
_GETTERS = tuple(map(attrgetter, FIELDS))
_TEXT = tuple(f.name for f in fields(CallRecord) if f.type in ("str", "str | None"))
_REQUIRED = frozenset(f.name for f in fields(CallRecord) if f.type == "str")
NONE_TYPE = type(None)
_STR_OR_NONE = frozenset((str, NONE_TYPE))
_UTC = dt.timezone.utc
_TZ = attrgetter("tzinfo")
_FIRST, _SECOND, _DAY = itemgetter(0), itemgetter(1), itemgetter(slice(0, 10))
# a cost a record may hold, as plain text with no redundant zero in front: exactly what
# format(Decimal(text), "f") gives back, below MAX_COST, at most MAX_COST_PLACES places
_PLAIN_COST = re.compile(r"(?:0|[1-9][0-9]{0,8})(?:\.[0-9]{1,50})?")
_CURRENCY = re.compile(r"[A-Z]{3}")


@contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off while a batch is imported: its objects form no cycles.

    Building a batch allocates a few objects per value; with the collector on, those
    allocations start collections that walk every object the process holds. Only the
    importing thread does this, for the length of one batch: the ledger's background
    writer never touches the collector, which belongs to the application.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _none_state(types: set[type]) -> int:
    if NONE_TYPE not in types:
        return NO_NONE
    return ALL_NONE if len(types) == 1 else SOME_NONE


def _texts(col: Column, required: bool) -> int:
    """Check a text column; return its None state."""
    types = set(map(type, col))
    if not types <= _STR_OR_NONE or (required and NONE_TYPE in types):
        raise Refused
    values = col if NONE_TYPE not in types else list(filter(None, col))
    if values and (max(map(len, values)) > MAX_TEXT_CHARS or "\0" in "".join(values)):
        raise Refused
    return _none_state(types)


def _tokens(col: Column) -> None:
    if set(map(type, col)) != {int} or min(col) < 0 or max(col) >= MAX_TOKENS:
        raise Refused


def _cost_texts(col: Column, decimals: bool) -> tuple[Column, int]:
    """A cost column as plain decimal text, and its None state."""
    types = set(map(type, col))
    state = _none_state(types)
    if state == ALL_NONE:
        return col, state
    if not types <= ({Decimal, NONE_TYPE} if decimals else _STR_OR_NONE):
        raise Refused
    if decimals:
        texts = _decimal_texts(
            col if state == NO_NONE else list(compress(col, map(is_not, col, repeat(None))))
        )
        if state == NO_NONE:
            return texts, state
        found = iter(texts)
        return [None if c is None else next(found) for c in col], state
    if not all(map(_PLAIN_COST.fullmatch, filter(None, col))):
        raise Refused
    return col, state


def _decimal_texts(values: Column) -> list[str]:
    """Decimals as ``format(value, "f")`` text, each checked as :data:`_PLAIN_COST`."""
    # str() is that text, three times faster, when it is digits and a point: no exponent
    # (which would mean str() chose scientific notation), no sign, no NaN or Infinity
    texts = list(map(str, values))
    joined = "".join(texts)
    if joined.replace(".", "").isdigit() and max(values) < MAX_COST and max(map(len, texts)) <= 52:
        return texts  # under 10**9 and at most 50 places ("0." and 50 digits at the longest)
    texts = [format(c, "f") for c in values]
    if not all(map(_PLAIN_COST.fullmatch, texts)):
        raise Refused
    return texts


def _flags(col: Column, sqlite: bool) -> Column:
    if set(map(type, col)) != {bool}:
        raise Refused
    return list(map(int, col)) if sqlite else col


def _days(col: Column, parse: bool) -> tuple[Column, Column]:
    """(timestamp text, day) columns from datetimes, or from ISO text when ``parse``."""
    if parse:
        if set(map(type, col)) != {str}:
            raise Refused
        try:
            col = list(map(dt.datetime.fromisoformat, col))
        except ValueError:
            raise Refused from None
    elif set(map(type, col)) != {dt.datetime}:
        raise Refused
    if set(map(_TZ, col)) != {_UTC}:
        raise Refused
    texts = list(map(_FIRST, map(ts_and_day, col)))  # no pair outlives its line
    return texts, list(map(_DAY, texts))


def _dates(col: Column, parse: bool) -> tuple[Column, int]:
    """The price period's start as ISO text (from dates, or ISO text when ``parse``)."""
    types = set(map(type, col))
    if not types <= ({str, NONE_TYPE} if parse else {dt.date, NONE_TYPE}):
        raise Refused
    distinct = set(col)
    distinct.discard(None)
    try:
        iso = {d: (dt.date.fromisoformat(d) if parse else d).isoformat() for d in distinct}
    except ValueError:
        raise Refused from None
    return list(map(iso.get, col)), _none_state(types)


def _labels(tags: Column, metadata: Column) -> tuple[Column, Column, Column]:
    """(tags, metadata, labels) JSON columns from tuples of text and dicts."""
    if set(map(type, tags)) != {tuple} or set(map(type, metadata)) != {dict}:
        raise Refused
    _texts(list(chain.from_iterable(tags)), True)
    return labels_columns(tags, metadata)


def _converted(cols: list[Column], *, sqlite: bool, parse: bool) -> Converted:
    """Output columns by name with their None state; raises :class:`Refused`."""
    at = FIELD_AT
    out: Converted = {}
    for name in _TEXT:
        out[name] = cols[at[name]], _texts(cols[at[name]], name in _REQUIRED)
    if not all(map(_CURRENCY.fullmatch, set(cols[at["currency"]]))):
        raise Refused
    for name in TOKEN_FIELDS:
        _tokens(cols[at[name]])
        out[name] = cols[at[name]], NO_NONE
    for name in COST_FIELDS:
        out[name] = _cost_texts(cols[at[name]], not parse)
    total, state = out["total_cost"]
    picos: Column = total
    if state != ALL_NONE:
        picos = [None if t is None else pico_of_text(t) for t in total]
        state = _none_state(set(map(type, picos)))
    out["total_cost_pico"] = picos, state
    ts, day = _days(cols[at["timestamp"]], parse)
    out["ts"], out["day"] = (ts, NO_NONE), (day, NO_NONE)
    out["price_effective_from"] = _dates(cols[at["price_effective_from"]], parse)
    for name in ("priced", "usage_known"):
        out[name] = _flags(cols[at[name]], sqlite), NO_NONE
    tags, meta, labels = _labels(cols[at["tags"]], cols[at["metadata"]])
    out["tags"], out["run_metadata"], out["labels"] = (
        (tags, NO_NONE),
        (meta, NO_NONE),
        (labels, NO_NONE),
    )
    return out


def _first_of_each(run_ids: Column) -> list[int] | None:
    """Positions of each run id's first row, or None when no run id repeats."""
    if len(set(run_ids)) == len(run_ids):
        return None
    first: dict[Any, int] = {}
    for i, run_id in enumerate(run_ids):
        first.setdefault(run_id, i)
    return sorted(first.values())


def _literal(col: Column) -> str | None:
    """The column's one value as SQL text when every row holds the same text or integer."""
    value = col[0]
    if type(value) is int:
        text = str(value)
    elif type(value) is str:
        text = "'" + value.replace("'", "''") + "'"
    else:
        return None
    return text if col.count(value) == len(col) else None


def _null_batches(out: Converted, keep: list[int] | None) -> Batches:
    """(INSERT, rows) pairs; NULL and a value every row shares are written into the INSERT.

    sqlite3 binds None through its adaptation lookup, and every bound value costs; what is
    the same for the whole batch (zero token counts, the currency, the day...) is not bound.
    """
    fixed = {name: "NULL" for name in COLUMNS if out[name][1] == ALL_NONE}
    for name in COLUMNS[1:]:  # the run id is always bound: one row per run id
        if out[name][1] == NO_NONE:
            text = _literal(out[name][0])
            if text is not None:
                fixed[name] = text
    bound = [name for name in COLUMNS if name not in fixed]
    some = [name for name in bound if out[name][1] == SOME_NONE]
    if not some and keep is None:  # rows made one at a time as executemany reads them
        return [(_insert(fixed), zip(*(out[name][0] for name in bound), strict=True))]
    rows = list(zip(*(out[name][0] for name in bound), strict=True))
    if not some:
        return [(_insert(fixed), [rows[i] for i in keep])]  # type: ignore[union-attr]  # some run id twice
    patterns = list(zip(*(map(is_, out[name][0], repeat(None)) for name in some), strict=True))
    groups: dict[tuple[bool, ...], list[tuple[Any, ...]]] = {}
    for i in range(len(rows)) if keep is None else keep:
        groups.setdefault(patterns[i], []).append(rows[i])
    batches: Batches = []
    for pattern, group in groups.items():
        null = {name for name, is_null in zip(some, pattern, strict=True) if is_null}
        values = [i for i, name in enumerate(bound) if name not in null]
        # itemgetter of one index gives the value itself, not a 1-tuple: zip makes the rows
        picked = zip(*(map(itemgetter(i), group) for i in values), strict=True)
        batches.append((_insert(fixed | dict.fromkeys(null, "NULL")), list(picked)))
    return batches


def _insert(fixed: dict[str, str]) -> str:
    """The idempotent INSERT with ``fixed`` columns written in, the others bound."""
    values = ", ".join(fixed.get(name, "?") for name in COLUMNS)
    return (
        f"INSERT INTO {CALLS.name} ({', '.join(COLUMNS)}) VALUES ({values}) "
        "ON CONFLICT (run_id) DO NOTHING"
    )


def columns_of_records(records: Sequence[CallRecord]) -> list[Column]:
    """The records' values as columns, in :data:`FIELDS` order."""
    # field by field: no tuple per record for the garbage collector to count and visit
    return [list(map(get, records)) for get in _GETTERS]


class SqliteBatch(NamedTuple):
    """A batch ready for SQLite: its INSERTs, and its daily rollup if every row is new."""

    inserts: Batches
    """(INSERT, rows) pairs for ``executemany``."""
    daily: list[tuple[Any, ...]] | None
    """The rollup's rows (see :func:`~azcost.ledger._daily.daily_rows`); None: by SQL."""
    offered: int
    """Rows offered (a run id repeated in the batch counts once)."""


def sqlite_batches_of_columns(cols: list[Column], *, parse: bool = False) -> SqliteBatch | None:
    """The batch for SQLite's ``executemany``, or None: check one by one.

    ``cols``: the records' values in :data:`FIELDS` order (:func:`columns_of_records`),
    or, with ``parse``, a JSON batch's values (timestamps, dates and costs as text).
    """
    try:
        out = _converted(cols, sqlite=True, parse=parse)
    except Refused:
        return None
    keep = _first_of_each(out["run_id"][0])
    count = len(cols[0]) if keep is None else len(keep)
    daily = daily_rows(out, count) if keep is None else None
    return SqliteBatch(_null_batches(out, keep), daily, count)


def pg_rows(cols: list[Column], *, parse: bool = False) -> list[tuple[Any, ...]] | None:
    """Rows in :data:`COLUMNS` order for PostgreSQL (money as exact text), or None."""
    try:
        out = _converted(cols, sqlite=False, parse=parse)
    except Refused:
        return None
    return list(zip(*(out[name][0] for name in COLUMNS), strict=True))
