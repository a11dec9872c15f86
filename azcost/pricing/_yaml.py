"""A strict YAML reader for pricing files: Decimal numbers, line numbers, no surprises.

The document is read as a stream of parser events (libyaml when present) and
built by hand, so that:

- numbers with a fraction become :class:`~decimal.Decimal` straight from their
  text, never through ``float``;
- only plain decimal integers are integers (``0301`` stays the string ``"0301"``
  instead of YAML 1.1's octal 193) and dates stay strings, parsed later by the
  schema (``2024-08-06`` as a version stays a string);
- a repeated mapping key, an explicit tag (``!!python/object`` ...), a merge key,
  a second document, an alias expansion beyond a fixed number of values, nesting
  deeper than :data:`~azcost._input.MAX_DEPTH` or a number longer than
  :data:`~azcost._input.MAX_NUMBER_CHARS` is refused with file and line, before
  anything is constructed from it;
- the file itself is read through :mod:`azcost._input` (regular files only,
  bounded size, strict UTF-8);
- every value's line is kept, so a schema error can name it.

Building from events rather than from PyYAML's composed nodes is also about
four times faster: the composer resolves every scalar's tag in Python.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from .._input import read_text
from .._parse import MAX_DEPTH, number_problem
from ..errors import InputFileError, PricingFileError

try:  # pragma: no cover - depends on how PyYAML was built
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

__all__ = [
    "DECIMAL_RE",
    "FALSE_WORDS",
    "INT_RE",
    "NULL_WORDS",
    "TRUE_WORDS",
    "Positions",
    "as_pricing_error",
    "line_for",
    "load_yaml",
]

#: path of keys and indexes -> 1-based line number
Positions = dict[tuple[str | int, ...], int]

MAX_NODES = 200_000

# The plain scalars that are not text: the reader reads them so, the writer quotes text
# that would match them.
INT_RE = re.compile(r"[-+]?(?:0|[1-9][0-9_]*)\Z")
"""A plain integer (``0301`` is not one: it stays text)."""
DECIMAL_RE = re.compile(
    r"[-+]?(?:[0-9][0-9_]*)?\.[0-9_]+(?:[eE][-+]?[0-9]+)?\Z|[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+\Z"
)
"""A plain decimal number (read as :class:`~decimal.Decimal`)."""
NULL_WORDS = frozenset({"", "~", "null", "Null", "NULL"})
"""Plain scalars read as null."""
TRUE_WORDS = frozenset({"true", "True", "TRUE"})
"""Plain scalars read as true."""
FALSE_WORDS = frozenset({"false", "False", "FALSE"})
"""Plain scalars read as false."""

_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"


class _Retrack(Exception):
    """A duplicate key met without line tracking: parse again with it, for the message."""


class _Builder:
    def __init__(self, path: str, events: Iterator[yaml.Event], track: bool = True) -> None:
        self.path = path
        self.events = events
        self.track = track
        self.positions: Positions = {}
        self.anchors: dict[str, tuple[Any, int]] = {}
        self.count = 0
        self.depth = 0

    def fail(self, event: yaml.Event, problem: str) -> PricingFileError:
        mark = event.start_mark
        return PricingFileError(
            problem, path=self.path, line=None if mark is None else mark.line + 1
        )

    def document(self) -> Any:
        events = self.events
        next(events)  # StreamStartEvent
        start = next(events)
        if isinstance(start, yaml.StreamEndEvent):
            raise PricingFileError("empty document", path=self.path, line=1)
        data = self.build(next(events), ())
        next(events)  # DocumentEndEvent
        extra = next(events)
        if not isinstance(extra, yaml.StreamEndEvent):
            raise self.fail(extra, "a pricing file holds exactly one YAML document")
        return data

    def build(self, event: yaml.Event, where: tuple[str | int, ...]) -> Any:
        kind = type(event)
        if self.track:  # the parser gives every event a start mark (hand-made ones lack it)
            self.positions.setdefault(where, event.start_mark.line + 1)  # type: ignore[union-attr]
        before = self.count
        self.count += 1
        if kind is yaml.ScalarEvent:
            value = self.scalar(event)  # type: ignore[arg-type]
        elif kind is yaml.MappingStartEvent or kind is yaml.SequenceStartEvent:
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise self.fail(event, f"nested deeper than {MAX_DEPTH} levels")
            if kind is yaml.MappingStartEvent:
                value = self.mapping(event, where)  # type: ignore[arg-type]
            else:
                value = self.sequence(event, where)  # type: ignore[arg-type]
            self.depth -= 1
        elif kind is yaml.AliasEvent:
            anchor = event.anchor  # type: ignore[attr-defined]
            if anchor not in self.anchors:  # pragma: no cover - the parser checks this
                raise self.fail(event, f"unknown alias *{anchor}")
            value, size = self.anchors[anchor]
            self.count += size
            if self.count > MAX_NODES:
                raise self.fail(
                    event, f"document expands to more than {MAX_NODES} values (alias bomb?)"
                )
            return value
        else:  # pragma: no cover - a well-formed event stream has nothing else here
            raise self.fail(event, f"unexpected {kind.__name__}")
        anchor = getattr(event, "anchor", None)
        if anchor is not None:
            self.anchors[anchor] = (value, self.count - before)
        return value

    def _check_tag(self, event: yaml.NodeEvent, allowed: str) -> None:
        tag = getattr(event, "tag", None)
        if tag is not None and tag not in (allowed, "!"):
            raise self.fail(event, f"tag {tag!r} is not allowed")

    def mapping(self, event: yaml.MappingStartEvent, where: tuple[str | int, ...]) -> Any:
        self._check_tag(event, _MAP)
        out: dict[str, Any] = {}
        events = self.events
        while True:
            key_event = next(events)
            if type(key_event) is yaml.MappingEndEvent:
                return out
            if type(key_event) is not yaml.ScalarEvent:
                raise self.fail(key_event, "mapping keys must be plain scalars")
            self._check_tag(key_event, _STR)
            key = key_event.value
            if key == "<<" and not key_event.style:
                raise self.fail(key_event, "merge keys ('<<') are not allowed")
            if not self.track:
                if key in out:
                    raise _Retrack
                out[key] = self.build(next(events), where)
                continue
            path = (*where, key)
            if key in out:
                first = self.positions[path]
                raise self.fail(key_event, f"duplicate key {key!r} (first at line {first})")
            self.positions[path] = key_event.start_mark.line + 1  # type: ignore[union-attr]
            out[key] = self.build(next(events), path)

    def sequence(self, event: yaml.SequenceStartEvent, where: tuple[str | int, ...]) -> Any:
        self._check_tag(event, _SEQ)
        out: list[Any] = []
        events = self.events
        while True:
            item = next(events)
            if type(item) is yaml.SequenceEndEvent:
                return out
            out.append(self.build(item, (*where, len(out)) if self.track else where))

    def scalar(self, event: yaml.ScalarEvent) -> Any:
        text = event.value
        tag = event.tag
        if tag is not None and tag != "!":
            if tag == _STR:
                return text
            raise self.fail(event, f"tag {tag!r} is not allowed")
        if event.style:  # quoted or block: a string
            return text
        if text in NULL_WORDS:
            return None
        if text in TRUE_WORDS:
            return True
        if text in FALSE_WORDS:
            return False
        is_int = INT_RE.match(text) is not None
        if is_int or DECIMAL_RE.match(text):
            problem = number_problem(text)
            if problem is not None:
                raise self.fail(event, problem)
            return int(text.replace("_", "")) if is_int else Decimal(text.replace("_", ""))
        return text


def load_yaml(
    source: str | Path, text: str | None = None, *, lines: bool = True
) -> tuple[Any, Positions]:
    """Parse one YAML document strictly; return its data and the line of every value.

    ``lines=False`` skips recording the lines (an empty map is returned): faster, for a
    file expected to be valid, whose problems are then located by parsing it again.
    """
    path = str(source)
    if text is None:
        try:
            text = read_text(path)
        except InputFileError as exc:
            raise as_pricing_error(exc) from None
    builder = _Builder(path, yaml.parse(text, Loader=_Loader), track=lines)
    try:
        return builder.document(), builder.positions
    except _Retrack:
        return load_yaml(path, text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = " ".join(p for p in (exc.context, exc.problem) if p) or "malformed YAML"
        raise PricingFileError(f"malformed YAML: {problem}", path=path, line=line) from exc
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow (NUL, ESC, ...)
        at = min(max(exc.position, 0), len(text))
        line = text.count("\n", 0, at) + 1
        column = at - text.rfind("\n", 0, at)
        raise PricingFileError(
            f"character #x{exc.character:04x} is not allowed in YAML ({exc.reason}, "
            f"column {column})",
            path=path,
            line=line,
        ) from None
    except yaml.YAMLError as exc:
        raise PricingFileError(f"malformed YAML: {exc}", path=path) from exc


def as_pricing_error(exc: InputFileError) -> PricingFileError:
    """The same problem with a pricing file, as a :class:`PricingFileError`."""
    return PricingFileError(exc.problem_at_column, path=exc.path, line=exc.line)


def line_for(positions: Positions, loc: tuple[str | int, ...]) -> int | None:
    """Line of the deepest value on ``loc`` that has one (a missing field: its parent's)."""
    for n in range(len(loc), -1, -1):
        line = positions.get(loc[:n])
        if line is not None:
            return line
    return None
