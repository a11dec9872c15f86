"""The ledger's boundary: what a record may hold, checked alike for every way in.

``Ledger.record`` (in the writer, off the caller's path), ``ledger import`` and the
spool replay all pass each record through :func:`check_record`; a record that fails
is refused with the field and the reason, never stored. JSON text is read by
:func:`record_from_json`, which also refuses what JSON allows but a record must not
hold (``NaN``/``Infinity`` constants, float costs, numbers as text, naive timestamps).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from dataclasses import fields
from decimal import Decimal
from typing import Any, NoReturn

from ._record import COST_FIELDS, TOKEN_FIELDS, CallRecord

__all__ = [
    "MAX_COST",
    "MAX_COST_PLACES",
    "MAX_LABELS_CHARS",
    "MAX_TEXT_CHARS",
    "MAX_TOKENS",
    "RecordError",
    "check_labels_json",
    "check_record",
    "record_from_json",
    "refuse_constant",
]

MAX_TOKENS = 10**9
"""Token counts of one call are integers in ``[0, MAX_TOKENS)``."""
MAX_COST = Decimal(10**9)
"""Costs of one call are decimals in ``[0, MAX_COST)``."""
MAX_COST_PLACES = 50
"""Costs have at most this many decimal places."""
MAX_TEXT_CHARS = 1000
"""Longest text field (run id, model, deployment, a tag...)."""
MAX_LABELS_CHARS = 65_536
"""Longest tags or metadata of one call, as JSON text."""

_TEXT_FIELDS = tuple(
    f.name for f in fields(CallRecord) if f.type in ("str", "str | None")
)  # run_id, deployment, model, currency...: every field of text
_REQUIRED_TEXT = frozenset(f.name for f in fields(CallRecord) if f.type == "str")
_FLAGS = ("priced", "usage_known")
_CURRENCY = re.compile(r"[A-Z]{3}")
_COST_TEXT = re.compile(rf"[0-9]{{1,12}}(?:\.[0-9]{{1,{MAX_COST_PLACES}}})?")
_KNOWN = frozenset(CallRecord.__dataclass_fields__)


class RecordError(ValueError):
    """A record the ledger refuses; the message names the field and what is wrong."""


def _fail(name: str, what: str) -> NoReturn:
    raise RecordError(f"field {name!r}: {what}")


def _check_text(name: str, value: object) -> None:
    if type(value) is not str:
        _fail(name, f"must be text, not {type(value).__name__}")
    if len(value) > MAX_TEXT_CHARS:
        _fail(name, f"longer than {MAX_TEXT_CHARS} characters")
    if "\0" in value:
        _fail(name, "contains a NUL character")


def _check_cost(name: str, value: object) -> None:
    if type(value) is not Decimal:
        _fail(name, f"must be a Decimal, not {type(value).__name__}")
    if not value.is_finite():
        _fail(name, f"must be finite, not {value}")
    if value < 0:
        _fail(name, f"must not be negative ({value})")
    if value >= MAX_COST:
        _fail(name, f"must be below {MAX_COST} ({value})")
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -MAX_COST_PLACES:
        _fail(name, f"has more than {MAX_COST_PLACES} decimal places")


def check_labels_json(tags_json: str, meta_json: str) -> None:
    """Refuse tags/metadata JSON text that is too long or holds a NUL character."""
    for name, text in (("tags", tags_json), ("metadata", meta_json)):
        if len(text) > MAX_LABELS_CHARS:
            _fail(name, f"longer than {MAX_LABELS_CHARS} characters as JSON")
        if "\\u0000" in text:
            _fail(name, "contains a NUL character")


def check_record(rec: CallRecord) -> None:
    """Raise :class:`RecordError` unless every field of *rec* is within the ledger's bounds."""
    for name in _TEXT_FIELDS:
        value = getattr(rec, name)
        if value is None:
            if name in _REQUIRED_TEXT:
                _fail(name, "is required")
            continue
        _check_text(name, value)
    for name in TOKEN_FIELDS:
        value = getattr(rec, name)
        if type(value) is not int:
            _fail(name, f"must be an integer, not {type(value).__name__}")
        if not 0 <= value < MAX_TOKENS:
            _fail(name, f"must be in [0, {MAX_TOKENS}), not {str(value)[:40]}")
    for name in COST_FIELDS:
        value = getattr(rec, name)
        if value is not None:
            _check_cost(name, value)
    ts = rec.timestamp
    if not isinstance(ts, dt.datetime) or ts.utcoffset() is None:
        _fail("timestamp", "must be a datetime with a time zone")
    eff = rec.price_effective_from
    if eff is not None and (type(eff) is not dt.date):
        _fail("price_effective_from", "must be a date")
    if not _CURRENCY.fullmatch(rec.currency):
        _fail("currency", f"must be an ISO 4217 code like 'USD', not {rec.currency[:40]!r}")
    for name in _FLAGS:
        if type(getattr(rec, name)) is not bool:
            _fail(name, "must be true or false")
    if type(rec.tags) is not tuple:
        _fail("tags", "must be a tuple of text")
    for tag in rec.tags:
        _check_text("tags", tag)
    if not isinstance(rec.metadata, Mapping):
        _fail("metadata", "must be a mapping")


# --------------------------------------------------------------------------- JSON


def refuse_constant(name: str) -> NoReturn:
    """Refuse ``NaN``, ``Infinity`` and ``-Infinity`` in a record's JSON."""
    raise RecordError(f"{name} is not a number a record may hold")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found = dict(pairs)
    if len(found) < len(pairs):
        seen: set[str] = set()
        twice = next(key for key, _ in pairs if key in seen or seen.add(key))  # type: ignore[func-returns-value]  # set.add is None
        _fail(twice, "is given twice")
    return found


def _parse_int(text: str) -> int | Decimal:
    # a number too long for a token count stays a Decimal, refused by name in check_record
    # (int() of over 4,300 digits would raise before the field is known)
    return int(text) if len(text) <= 30 else Decimal(text)


_decode = json.JSONDecoder(
    parse_constant=refuse_constant, parse_int=_parse_int, object_pairs_hook=_unique_keys
).decode
_encode = json.JSONEncoder(separators=(",", ":")).encode
_encode_labels = json.JSONEncoder(separators=(",", ":"), default=str).encode  # tags: text only


def _cost_of(name: str, value: Any) -> Decimal | None:
    if value is None:
        return None
    if type(value) is int:
        text = str(value)
    elif type(value) is str:
        text = value
    else:
        _fail(name, f"must be a decimal string, not {type(value).__name__} {str(value)[:40]}")
    if not _COST_TEXT.fullmatch(text):
        shown = repr(value if len(text) <= 40 else text[:40] + "...")
        _fail(name, f"must be a plain non-negative decimal like '0.000078', not {shown}")
    return Decimal(text)


def _timestamp_of(value: Any) -> dt.datetime:
    if type(value) is not str:
        _fail("timestamp", f"must be ISO-8601 text with a zone, not {type(value).__name__}")
    try:
        ts = dt.datetime.fromisoformat(value)
    except ValueError:
        _fail("timestamp", f"not an ISO-8601 time: {value[:60]!r}")
    if ts.utcoffset() is None:
        _fail("timestamp", f"has no time zone: {value[:60]!r}")
    return ts.astimezone(dt.timezone.utc)


def _date_of(value: Any) -> dt.date | None:
    if value is None:
        return None
    if type(value) is not str:
        _fail("price_effective_from", "must be an ISO date (YYYY-MM-DD)")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        _fail("price_effective_from", f"not an ISO date: {value[:60]!r}")


def record_from_dict(data: Any) -> CallRecord:
    """A checked :class:`CallRecord` from a decoded JSON object; :class:`RecordError` if bad."""
    if type(data) is not dict:
        raise RecordError(f"a record is a JSON object, not {type(data).__name__}")
    extra = data.keys() - _KNOWN
    if extra:
        raise RecordError(f"unknown record fields: {', '.join(sorted(map(str, extra)))}")
    for name in ("run_id", "timestamp"):
        if name not in data:
            _fail(name, "is required")
    values = dict(data)
    values["timestamp"] = _timestamp_of(data["timestamp"])
    values["price_effective_from"] = _date_of(data.get("price_effective_from"))
    for name in COST_FIELDS:
        values[name] = _cost_of(name, data.get(name))
    tags = data.get("tags", [])
    if type(tags) is not list:
        _fail("tags", "must be a list of text")
    values["tags"] = tuple(tags)
    meta = data.get("metadata", {})
    if type(meta) is not dict:
        _fail("metadata", "must be an object")
    try:
        meta_json = _encode(meta)
    except TypeError:  # a Decimal: an integer too long to read as one (see _parse_int)
        _fail("metadata", "holds an integer longer than 30 digits")
    check_labels_json(_encode_labels(tags), meta_json)
    rec = CallRecord(**values)
    check_record(rec)
    return rec


def record_from_json(line: str) -> CallRecord:
    """A checked :class:`CallRecord` from one JSON line; :class:`RecordError` if bad."""
    try:
        data = _decode(line)
    except RecordError:
        raise
    except ValueError as exc:  # json.JSONDecodeError, or an integer string too long
        raise RecordError(f"not valid JSON: {exc}") from None
    except RecursionError:
        raise RecordError("not valid JSON: nested too deeply") from None
    return record_from_dict(data)
