"""Bounded parsing of untrusted text: number length and range, JSON depth, strict JSON.

The YAML reader applies :func:`number_problem` and :data:`MAX_DEPTH`; JSON documents
(Retail Prices API pages, ledger JSONL) go through :func:`loads_json`.
"""

from __future__ import annotations

import json
import os
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

from .errors import InputFileError

__all__ = ["MAX_DEPTH", "MAX_EXPONENT", "MAX_NUMBER_CHARS", "loads_json", "number_problem"]

MAX_DEPTH = 64
"""Deepest nesting of mappings and lists in a YAML or JSON document."""
MAX_NUMBER_CHARS = 100
"""Longest number, in characters (Python refuses int text over 4,300 digits; azcost well before)."""
MAX_EXPONENT = 100
"""Largest decimal exponent, either sign, of a number read from a file (``1e101`` is refused)."""


def number_problem(text: str) -> str | None:
    """Why a number's text is refused (too long, exponent too large), or None."""
    if len(text) > MAX_NUMBER_CHARS:
        return f"number too long ({len(text):,} characters; at most {MAX_NUMBER_CHARS})"
    if ("e" in text or "E" in text) and abs(Decimal(text.replace("_", "")).adjusted()) > (
        MAX_EXPONENT
    ):
        return f"number out of range ({text}; exponent at most {MAX_EXPONENT} either way)"
    return None


class _NumberRefused(ValueError):
    def __init__(self, text: str, problem: str) -> None:
        super().__init__(problem)
        self.text = text


def _json_number(kind: type[int] | type[Decimal]) -> Any:
    def parse(text: str) -> int | Decimal:
        problem = number_problem(text)
        if problem is not None:
            raise _NumberRefused(text, problem)
        return kind(text)

    return parse


class _DuplicateKey(ValueError):
    pass


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return out


def _refuse_constant(text: str) -> Any:
    raise _NumberRefused(text, f"{text} is not a number azcost accepts (finite numbers only)")


_PARSE_INT = _json_number(int)
_PARSE_DECIMAL = _json_number(Decimal)
_JSON_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')


def _json_too_deep(text: str, max_depth: int) -> int | None:
    """Offset where ``text`` nests deeper than ``max_depth``, or None."""
    if text.count("[") + text.count("{") <= max_depth:
        return None
    depth = 0
    for token in _JSON_TOKENS.finditer(text):
        char = token.group()
        if char in "[{":
            depth += 1
            if depth > max_depth:
                return token.start()
        elif char in "]}":
            depth -= 1
    return None


def loads_json(
    text: str, path: str | Path, *, line: int | None = None, max_depth: int = MAX_DEPTH
) -> Any:
    """Parse JSON strictly: decimals as :class:`~decimal.Decimal`, bounded depth and numbers.

    ``line`` is the file line ``text`` starts on (a JSONL record); errors name
    file, line and column. ``NaN``, ``Infinity`` and a key repeated in one object are refused.
    """
    name = os.fspath(path)
    first = 1 if line is None else line
    deep = _json_too_deep(text, max_depth)
    if deep is not None:
        at_line = text.count("\n", 0, deep) + first
        raise InputFileError(f"nested deeper than {max_depth} levels", path=name, line=at_line)
    try:
        return json.loads(
            text,
            parse_float=_PARSE_DECIMAL,
            parse_int=_PARSE_INT,
            parse_constant=_refuse_constant,
            object_pairs_hook=_object,
        )
    except json.JSONDecodeError as exc:
        raise InputFileError(
            f"malformed JSON: {exc.msg}",
            path=name,
            line=exc.lineno + first - 1,
            column=exc.colno,
        ) from None
    except _DuplicateKey as exc:
        key = json.dumps(exc.args[0])
        offset = max(text.find(key, text.find(key) + 1), 0)
        raise InputFileError(
            f"duplicate key {exc.args[0]!r}", path=name, line=text.count("\n", 0, offset) + first
        ) from None
    except _NumberRefused as exc:
        offset = max(text.find(exc.text), 0)
        raise InputFileError(
            str(exc), path=name, line=text.count("\n", 0, offset) + first
        ) from None
