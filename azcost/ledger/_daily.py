"""A batch's daily rollup summed in Python from its converted columns.

The writer has each column of a batch in hand (:mod:`azcost.ledger._columns`); summing
them here costs a few passes in C per column, where SQL would read every new row back
and group it. The sums are those :data:`~azcost.ledger._rollups.ROLLUP_BATCH_SQL` takes
of the same rows, key for key (NULL keys as ''). They are used only when every row of
the batch was really inserted (no known run id skipped); otherwise, and when a batch
has many groups or a sum would pass 64 bits, the writer runs the SQL instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import compress, repeat
from operator import and_, eq, is_, is_not
from typing import Any

from ._record import TOKEN_FIELDS
from ._tables import DAILY, ROLLUP_KEYS

__all__ = ["ALL_NONE", "NO_NONE", "SOME_NONE", "Converted", "daily_rows"]

ALL_NONE, NO_NONE, SOME_NONE = 0, 1, 2
"""Whether a column holds only None, no None, or some."""

Converted = dict[str, tuple[Sequence[Any], int]]
"""A batch's stored columns by name, each with its None state."""

_SUMS = tuple(c.name for c in DAILY.columns if not c.primary_key)
assert ("requests", "priced_requests", *TOKEN_FIELDS, "cost_pico", "inexact_requests") == _SUMS
_MAX_GROUPS = 32  # more groups in one batch: the SQL groups them
_INT64 = 2**63
_BLANK = {None: ""}  # a NULL key is stored as ''
_ZERO = {None: 0}


def daily_rows(out: Converted, count: int) -> list[tuple[Any, ...]] | None:
    """One row per group (:data:`DAILY` keys, then its sums) for the batch's upsert, or None."""
    keys: list[Sequence[Any]] = []
    fixed: list[Any] = []  # each key column's one value, or None when it varies
    for name in ROLLUP_KEYS:
        col, state = out[name]
        if state == ALL_NONE:
            fixed.append("")
            continue
        if state == SOME_NONE:
            col = list(map(_BLANK.get, col, col))
        one = col[0] if col.count(col[0]) == count else None
        fixed.append(one)
        if one is None:
            keys.append(col)
    sums = _sum_columns(out)
    if not keys:
        groups = [(fixed, None)]
    else:
        group_keys = list(zip(*keys, strict=True)) if len(keys) > 1 else keys[0]
        distinct = dict.fromkeys(group_keys)
        if len(distinct) > _MAX_GROUPS:
            return None
        groups = [(_merge(fixed, key, len(keys)), key) for key in distinct]
        if len(groups) == 1:
            groups = [(groups[0][0], None)]
    rows = []
    for key_values, key in groups:
        mask = None if key is None else list(map(eq, group_keys, repeat(key)))
        totals = [_total(col, mask, count) for col in sums]
        if max(totals) >= _INT64:
            return None  # the SQL's row-by-row upsert keeps such a sum (as REAL)
        rows.append((*key_values, *totals))
    return rows


def _merge(fixed: list[Any], key: Any, varying: int) -> list[Any]:
    """The key columns' values of one group: the fixed ones and the group's own."""
    values = iter(key if varying > 1 else (key,))
    return [next(values) if one is None else one for one in fixed]


def _sum_columns(out: Converted) -> list[Sequence[Any] | int]:
    """Per summed column of :data:`DAILY`: the column to add up, or the value every row adds."""
    total, total_state = out["total_cost"]
    picos, pico_state = out["total_cost_pico"]
    cols: list[Sequence[Any] | int] = [1, out["priced"][0]]
    cols += [out[name][0] for name in TOKEN_FIELDS]
    if pico_state == ALL_NONE:
        cols.append(0)
    else:
        cols.append(picos if pico_state == NO_NONE else list(map(_ZERO.get, picos, picos)))
    if total_state == ALL_NONE or pico_state == NO_NONE:
        cols.append(0)  # no total without its pico units
    else:
        inexact = map(is_not, total, repeat(None)), map(is_, picos, repeat(None))
        cols.append(list(map(and_, *inexact)))
    return cols


def _total(col: Sequence[Any] | int, mask: list[bool] | None, count: int) -> int:
    if type(col) is int:
        return col * (count if mask is None else sum(mask))
    return int(sum(col if mask is None else compress(col, mask)))  # type: ignore[arg-type]  # a column
