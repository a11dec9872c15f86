"""JSON lines read as a batch's columns, for :mod:`azcost.ledger._columns` (``parse=True``).

A line is read fast when it is plainly a record object; anything unusual (not UTF-8, not
JSON, a key twice, an unknown field, a field of the wrong kind...) makes the whole batch
return None, and the caller reads its lines one by one, naming each bad one.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import fields
from itertools import chain, repeat
from json.scanner import make_scanner
from operator import itemgetter
from typing import Any

from ._checks import refuse_constant
from ._columns import FIELD_AT, FIELDS, NONE_TYPE, Column, Refused
from ._record import CallRecord

__all__ = ["columns_of_json"]

# JSON objects decode to tuples of (key, value) pairs, arrays to lists: a key given twice
# shows as a dict shorter than its pairs, and an object is never mistaken for an array
_decoder = json.JSONDecoder(object_pairs_hook=tuple, parse_constant=refuse_constant)
_scan: Callable[[str, int], tuple[Any, int]] = make_scanner(_decoder)  # type: ignore[arg-type]  # typeshed types it as its own class
_LINE_ENDS = ("\n", "\r\n")
_MISSING = object()  # a required field left out: refused by its column's type check
_DEFAULTS: dict[str, Any] = {
    f.name: _MISSING if f.name in ("run_id", "timestamp") else f.default for f in fields(CallRecord)
} | {"tags": [], "metadata": ()}
_VALUES = itemgetter(*FIELDS)
_FIRST, _SECOND = itemgetter(0), itemgetter(1)
_SCALARS = frozenset((str, int, float, bool, NONE_TYPE))
_BIG = 10**29  # integers whose text is over 30 characters decode as Decimal on the strict path


def _plain(value: Any) -> Any:
    """A nested metadata value with its objects as dicts; :class:`Refused` if unusual."""
    kind = type(value)
    if kind is tuple:  # an object
        found = {key: _plain(v) for key, v in value}
        if len(found) < len(value):
            raise Refused
        return found
    if kind is list:
        return list(map(_plain, value))
    if kind not in _SCALARS or (kind is int and not -_BIG < value < 10 * _BIG):
        raise Refused
    return value


def _metadata(col: Column) -> list[dict[str, Any]]:
    if not set(map(type, col)) <= {tuple}:
        raise Refused
    same = _key_columns(col)
    if same is not None:  # the usual batch: each key's values made plain as a column
        keys, columns = same
        plain = map(_plain_column, columns)
        return list(map(dict, map(zip, repeat(keys), zip(*plain, strict=True))))
    metas = list(map(dict, col))
    if list(map(len, metas)) != list(map(len, col)):  # a key given twice
        raise Refused
    if _scalars(list(chain.from_iterable(map(dict.values, metas)))):
        return metas
    return [{key: _plain(v) for key, v in meta.items()} for meta in metas]


def _key_columns(col: Column) -> tuple[tuple[str, ...], list[Column]] | None:
    """(keys, each key's values) when every object has the same keys in the same order."""
    width = len(col[0]) if col else 0
    if not width or set(map(len, col)) != {width}:
        return None
    keys: tuple[str, ...] = tuple(map(_FIRST, col[0]))
    if len(set(keys)) < width:  # a key given twice
        raise Refused
    columns: list[Column] = []
    for key, pairs in zip(keys, zip(*col, strict=True), strict=True):
        if set(map(_FIRST, pairs)) != {key}:
            return None
        columns.append(list(map(_SECOND, pairs)))
    return keys, columns


def _scalars(values: Column) -> bool:
    """Whether every value is a scalar; :class:`Refused` for an integer out of bounds."""
    types = set(map(type, values))
    if not types <= _SCALARS:
        return False
    if int in types:
        ints = [v for v in values if type(v) is int]
        if min(ints) <= -_BIG or max(ints) >= 10 * _BIG:
            raise Refused
    return True


def _plain_column(column: Column) -> Column:
    """One metadata key's values with their objects as dicts; :class:`Refused` if unusual.

    Objects and arrays of text are made once per distinct value, shared by the records
    that hold it (the batch is only read, then encoded: one object, one encoding).
    """
    if _scalars(column):
        return column
    kinds = set(map(type, column))
    if kinds == {tuple}:  # objects
        made: Any = _shared(column, lambda pairs: map(_SECOND, pairs), dict)
    elif kinds == {list}:  # arrays
        made = _shared(list(map(tuple, column)), iter, list)
    else:
        made = None
    return list(map(_plain, column)) if made is None else made


def _shared(
    keys: Column, values_of: Callable[[Any], Iterable[Any]], make: Callable[[Any], Any]
) -> list[Any] | None:
    """Each key made once when every one holds only text; None otherwise.

    Only text: 1, 1.0 and true are equal as keys, but decode to values of other types.
    """
    try:
        distinct = set(keys)
    except TypeError:  # a nested array
        return None
    if not set(map(type, chain.from_iterable(map(values_of, distinct)))) <= {str}:
        return None
    made = {key: make(key) for key in distinct}
    if list(map(len, made.values())) != list(map(len, made)):  # a key given twice
        raise Refused
    return list(map(made.__getitem__, keys))


def _values_of(line: bytes) -> tuple[Any, ...]:
    """One line's field values in :data:`FIELDS` order; :class:`Refused` if unusual."""
    text = line.decode("utf-8")
    try:
        pairs, end = _scan(text, 0)  # JSONDecoder.decode without its Python wrapper
    except StopIteration:  # not JSON at the start; never let it end the caller's map()
        raise Refused from None
    if end != len(text) and text[end:] not in _LINE_ENDS:  # more than the line's end
        raise Refused
    if type(pairs) is not tuple:
        raise Refused
    data = dict(pairs)
    if len(data) < len(pairs):  # a key given twice
        raise Refused
    if len(data) < len(FIELDS):
        data = _DEFAULTS | data
    if len(data) > len(FIELDS):  # a field the record does not have
        raise Refused
    try:
        return _VALUES(data)  # type: ignore[no-any-return]  # a tuple of the values
    except KeyError:  # as many keys as fields, some of them not fields
        raise Refused from None


def columns_of_json(lines: Sequence[bytes]) -> list[Column] | None:
    """JSON lines' values as columns in :data:`FIELDS` order, for ``parse=True``; or None.

    None when a line is not plainly a record object (not UTF-8, not JSON, a key twice, an
    unknown field, a field of the wrong kind...): read those lines one by one.
    """
    try:
        cols: list[Column] = list(zip(*map(_values_of, lines), strict=True))
        tags = cols[FIELD_AT["tags"]]
        if set(map(type, tags)) != {list}:
            return None
        cols[FIELD_AT["tags"]] = list(map(tuple, tags))
        cols[FIELD_AT["metadata"]] = _metadata(cols[FIELD_AT["metadata"]])
    except (Refused, ValueError, RecursionError):
        return None
    return cols
