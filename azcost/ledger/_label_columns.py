"""A batch's tags, metadata and labels JSON built column by column.

Encoding each record's metadata whole costs microseconds (LangChain's run metadata has a
dozen keys, and its nested ``lc_versions`` and float ``ls_temperature`` keep a per-record
cache from ever hitting). Here records sharing their tags, metadata keys and value types
form a group; within a group each key is a column, each distinct value is encoded once
as its ``"key":value`` fragment, and a record's JSON is its fragments joined in key
order. The text is exactly what :func:`~azcost.ledger._tables.tags_meta_json` gives for
the same record (its checks included); anything else makes the builder raise
:class:`~azcost.ledger._columns.Refused`, and the records are checked one by one.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Sequence
from itertools import chain, repeat
from operator import itemgetter
from typing import Any

from ._checks import MAX_LABELS_CHARS
from ._tables import _json, labels_of, tags_meta_json

__all__ = ["Refused", "labels_columns"]

Column = Sequence[Any]
Fragments = Sequence[str]

_KEY = json.encoder.encode_basestring_ascii  # what the encoder writes for a str (ensure_ascii)
_SCALARS = (str, int, float, bool)  # what labels_of takes as a label, subclasses too
_PROBE = 32  # values looked at to judge whether a column's values repeat
_MAX_GROUPS = 16  # more groups than this in a batch: encode record by record
_NUL = "\\u0000"  # a NUL character as the encoder writes it (check_labels_json refuses it)


class Refused(Exception):
    """A batch the columns cannot build exactly: check its records one by one."""


def _scalar_text(kind: type) -> Callable[[Any], str] | None:
    """How a scalar of exactly this type is written as JSON, or None for other types."""
    if kind is str:
        return _KEY
    if kind is int:
        return int.__repr__
    if kind is bool:
        return lambda value: "true" if value else "false"
    if kind is float:
        return _float_text
    if kind is type(None):
        return lambda _: "null"
    return None


def _float_text(value: float) -> str:
    if not math.isfinite(value):
        raise Refused  # allow_nan=False: the record path names the field
    return float.__repr__(value)


def _nested_texts(values: Column, kind: type) -> list[str]:
    """JSON of nested values: each object once (records often share one), each distinct
    list, tuple or dict of plain text once."""
    ids = list(map(id, values))
    distinct = set(ids)
    if len(distinct) * 2 <= len(values):  # the batch is built at once: one object, one text
        return _once_each(ids, values, _json)
    if kind is dict:
        keys: list[Any] = list(map(tuple, map(dict.items, values)))
        parts = chain.from_iterable(chain.from_iterable(keys))
    elif kind in (list, tuple):
        keys = list(map(tuple, values))
        parts = chain.from_iterable(keys)
    else:
        return _checked(list(map(_json, values)))
    if set(map(type, parts)) - {str}:
        return _checked(list(map(_json, values)))
    # the key of a dict's JSON is its items in order: two orders just encode twice
    return _once_each(keys, values, _json)


def _value_texts(values: Column, kind: type) -> list[str]:
    """Every value of one key, all of type ``kind``, as JSON."""
    scalar = _scalar_text(kind)
    if scalar is None:
        return _nested_texts(values, kind)
    if len(set(values[:_PROBE])) == min(len(values), _PROBE):  # no repeat seen: encode each
        return _checked(list(map(scalar, values)))
    if kind is float and 0.0 in values:  # -0.0 == 0.0, but its text differs
        return _checked(list(map(scalar, values)))
    return _once_each(values, values, scalar)


def _once_each(keys: Column, values: Column, encode: Callable[[Any], str]) -> list[str]:
    """Each record's value as JSON, encoded once per distinct key (its value's stand-in)."""
    found = {key: encode(value) for key, value in dict(zip(keys, values, strict=True)).items()}
    _check(found.values())
    return list(map(found.__getitem__, keys))


def _checked(texts: list[str]) -> list[str]:
    """``texts``, unless one holds what check_labels_json refuses as a NUL character."""
    _check(texts)
    return texts


def _check(texts: Iterable[str]) -> None:
    if _NUL in "".join(texts):  # an escape lies within one string: no text spans two
        raise Refused


def _group(
    tags: tuple[str, ...],
    keys: tuple[Any, ...],
    types: tuple[type, ...],
    metas: Column,
    columns: Sequence[Column] | None = None,
) -> tuple[Column, Column, Column]:
    """One group's tags, metadata and labels JSON, record by record.

    ``columns``: the group's values key by key, when the caller has them already.
    """
    count = len(metas)
    if set(map(type, keys)) - {str} or any(
        issubclass(kind, _SCALARS) and kind not in _SCALARS for kind in types
    ):  # a key that is not text, an enum as a value...: as each record would be
        return _one_by_one(repeat(tags, count), metas)
    tags_json = _json(list(tags))
    if _NUL in tags_json or len(tags_json) > MAX_LABELS_CHARS:
        raise Refused
    # each object is a %-template of its keys in order, filled with each record's values
    meta: list[tuple[str, Fragments]] = []
    labels: dict[str, tuple[str, Fragments | None]] = {
        key: (_escaped(f"{_KEY(key)}:{_KEY(value)}"), None)
        for key, value in labels_of(tags, {}).items()
    }
    if columns is None:
        columns = list(zip(*map(dict.values, metas), strict=True))  # in the keys' order
    for j in sorted(range(len(keys)), key=keys.__getitem__):
        key, kind = keys[j], types[j]
        texts = _value_texts(columns[j], kind)
        head = _escaped(_KEY(key)) + ":"
        meta.append((head + "%s", texts))
        if kind is str:  # a metadata label replaces a tag's of the same key
            labels[key] = (head + "%s", texts)
        elif kind in (int, float, bool):  # a label holds such a scalar's JSON as text
            labels[key] = (head + '"%s"', texts)
    meta_json = _filled(meta, count)
    if max(map(len, meta_json)) > MAX_LABELS_CHARS or _NUL in "".join(p for p, _ in meta):
        raise Refused  # too long, or a key with a NUL (each value's text was checked)
    label_json = _filled([labels[key] for key in sorted(labels)], count)
    return list(repeat(tags_json, count)), meta_json, label_json


def _escaped(text: str) -> str:
    return text.replace("%", "%%")


def _filled(parts: Sequence[tuple[str, Fragments | None]], count: int) -> Fragments:
    """Each record's JSON object: the parts' templates joined, filled with its values."""
    template = "{" + ",".join(piece for piece, _ in parts) + "}"
    values = [texts for _, texts in parts if texts is not None]
    if not values:
        return list(repeat(template % (), count))
    return list(map(template.__mod__, zip(*values, strict=True)))


def labels_columns(tags: Column, metadata: Column) -> tuple[Column, Column, Column]:
    """(tags, metadata, labels) JSON columns of a batch; :class:`Refused` if unusual.

    ``tags``: tuples of text; ``metadata``: dicts (the caller checks both types).
    """
    try:
        return _built(tags, metadata)
    except (ValueError, TypeError, RecursionError):  # as tags_meta_json would raise
        raise Refused from None


def _built(tags: Column, metadata: Column) -> tuple[Column, Column, Column]:
    count = len(tags)
    if not count:
        return [], [], []
    usual = _same_keys(tags, metadata)
    if usual is not None:
        return usual
    keys = list(map(tuple, metadata))
    shapes = map(tuple, map(map, repeat(type), map(dict.values, metadata)))
    groups: list[tuple[Any, tuple[Any, ...], tuple[type, ...]]]
    groups = list(zip(tags, keys, shapes, strict=True))
    distinct = set(groups)
    if len(distinct) > _MAX_GROUPS:
        return _one_by_one(tags, metadata)
    if len(distinct) == 1:
        return _group(*groups[0], metadata)
    members: dict[tuple[Any, ...], list[int]] = {}
    for i, group in enumerate(groups):
        members.setdefault(group, []).append(i)
    out: list[list[Any]] = [[None] * count for _ in range(3)]
    for group, where in members.items():
        for col, values in zip(out, _group(*group, [metadata[i] for i in where]), strict=True):
            for i, value in zip(where, values, strict=True):
                col[i] = value
    return out[0], out[1], out[2]


def _same_keys(tags: Column, metadata: Column) -> tuple[Column, Column, Column] | None:
    """The usual batch: one set of tags, every record with the same keys, each key's values
    of one type; None otherwise."""
    first = tuple(metadata[0])
    if tags.count(tags[0]) != len(tags) or set(map(len, metadata)) != {len(first)}:
        return None
    if not first:
        return _group(tags[0], first, (), metadata, [])
    values = map(itemgetter(*first), metadata)  # in the first record's order of keys
    try:  # as many keys as the first record's, all of them its: the same keys
        if len(first) == 1:  # itemgetter of one key gives the value itself, not a 1-tuple
            columns: list[Column] = [list(values)]
        else:
            columns = list(zip(*values, strict=True))
    except KeyError:
        return None
    kinds = list(map(set, map(map, repeat(type), columns)))
    if any(len(kind) != 1 for kind in kinds):
        return None
    return _group(tags[0], first, tuple(kind.pop() for kind in kinds), metadata, columns)


def _one_by_one(tags: Iterable[Any], metadata: Column) -> tuple[Column, Column, Column]:
    # what it raises (too long, a NUL, a float that is not finite) labels_columns refuses
    triples = list(map(tags_meta_json, tags, metadata))
    return tuple(list(map(itemgetter(i), triples)) for i in range(3))  # type: ignore[return-value]  # three columns
