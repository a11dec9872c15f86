"""A strict YAML reader for pricing files: Decimal numbers, line numbers, no surprises.

The document is composed into nodes by PyYAML (libyaml when present) and then
built by hand, so that:

- numbers with a fraction become :class:`~decimal.Decimal` straight from their
  text, never through ``float``;
- only plain decimal integers are integers (``0301`` stays the string ``"0301"``
  instead of YAML 1.1's octal 193) and dates stay strings, parsed later by the
  schema (``2024-08-06`` as a version stays a string);
- a repeated mapping key, an unknown tag (``!!python/object`` ...) or an alias
  expansion beyond a fixed number of nodes is refused with file and line;
- every value's position is kept, so a schema error can name its line.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from .errors import PricingFileError

try:  # pragma: no cover - depends on how PyYAML was built
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

__all__ = ["Positions", "load_yaml"]

#: path of keys and indexes -> 1-based line number
Positions = dict[tuple[str | int, ...], int]

MAX_NODES = 200_000

_INT = re.compile(r"[-+]?(?:0|[1-9][0-9_]*)\Z")
_DECIMAL = re.compile(r"[-+]?(?:[0-9][0-9_]*)?\.[0-9_]+(?:[eE][-+]?[0-9]+)?\Z|[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+\Z")
_NULL = {"", "~", "null", "Null", "NULL"}
_TRUE = {"true", "True", "TRUE"}
_FALSE = {"false", "False", "FALSE"}

_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_PLAIN_TAGS = {
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:timestamp",
}


class _Builder:
    def __init__(self, path: str) -> None:
        self.path = path
        self.positions: Positions = {}
        self.count = 0

    def fail(self, node: yaml.Node, problem: str) -> PricingFileError:
        return PricingFileError(problem, path=self.path, line=node.start_mark.line + 1)

    def build(self, node: yaml.Node, where: tuple[str | int, ...]) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise self.fail(
                node, f"document expands to more than {MAX_NODES} values (alias bomb?)"
            )
        self.positions.setdefault(where, node.start_mark.line + 1)
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node)
        if isinstance(node, yaml.MappingNode):
            if node.tag != _MAP:
                raise self.fail(node, f"tag {node.tag!r} is not allowed")
            out: dict[str, Any] = {}
            for key_node, value_node in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    raise self.fail(key_node, "merge keys ('<<') are not allowed")
                if not isinstance(key_node, yaml.ScalarNode):
                    raise self.fail(key_node, "mapping keys must be plain scalars")
                key = key_node.value
                if key in out:
                    raise self.fail(
                        key_node,
                        f"duplicate key {key!r} (first at line {self.positions[(*where, key)]})",
                    )
                out[key] = self.build(value_node, (*where, key))
            return out
        if isinstance(node, yaml.SequenceNode):
            if node.tag != _SEQ:
                raise self.fail(node, f"tag {node.tag!r} is not allowed")
            return [self.build(item, (*where, i)) for i, item in enumerate(node.value)]
        raise self.fail(node, "unsupported YAML node")  # pragma: no cover

    def scalar(self, node: yaml.ScalarNode) -> Any:
        text = node.value
        if node.tag == _STR:
            return text
        if node.tag not in _PLAIN_TAGS:
            raise self.fail(node, f"tag {node.tag!r} is not allowed")
        if node.style is not None and node.style != "":
            return text  # quoted: a string
        if text in _NULL:
            return None
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        if _INT.match(text):
            return int(text.replace("_", ""))
        if _DECIMAL.match(text):
            return Decimal(text.replace("_", ""))
        return text


def load_yaml(source: str | Path, text: str | None = None) -> tuple[Any, Positions]:
    """Parse one YAML document strictly; return its data and the line of every value."""
    path = str(source)
    if text is None:
        try:
            text = Path(source).read_text(encoding="utf-8")
        except OSError as exc:
            raise PricingFileError(f"cannot read: {exc.strerror or exc}", path=path) from exc
        except UnicodeDecodeError as exc:
            raise PricingFileError(f"not UTF-8 text: {exc}", path=path) from exc
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = " ".join(p for p in (exc.context, exc.problem) if p) or "malformed YAML"
        raise PricingFileError(f"malformed YAML: {problem}", path=path, line=line) from exc
    except yaml.YAMLError as exc:
        raise PricingFileError(f"malformed YAML: {exc}", path=path) from exc
    if node is None:
        raise PricingFileError("empty document", path=path, line=1)
    builder = _Builder(path)
    data = builder.build(node, ())
    return data, builder.positions
