"""Reading and writing pricing files as documents: canonical YAML, header comment kept, atomic.

The writer emits the same file format the loader reads (:mod:`azcost._yaml`):
decimals exactly as their ``Decimal`` text (``2.50`` stays ``2.50``, never a
float, an exponent or quotes), identifiers and dates plain unless the loader
would read them as something other than the string (``0301`` and ``2024-08-06``
are safe plain; ``1.0`` is quoted), free text double-quoted. Ordering is
canonical: models as given, series by deployment type (global, data-zone,
regional, global-batch, data-zone-batch) then region, periods by date.
"""

from __future__ import annotations

import errno
import json
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from pydantic import ValidationError

from .._input import read_text
from ..errors import InputFileError, PricingFileError
from ._deployment_types import deployment_type_order
from ._kinds import RATE_FIELDS
from ._schema import ModelEntry, PricePeriod, PriceSeries, PricingFile, Source
from ._tiers import TIER_NAMES
from ._yaml import (
    DECIMAL_RE,
    FALSE_WORDS,
    INT_RE,
    NULL_WORDS,
    TRUE_WORDS,
    as_pricing_error,
    load_yaml,
)

__all__ = [
    "TableDoc",
    "dump_table",
    "read_table",
    "series_sort_key",
    "write_atomic",
]

_SAFE_PLAIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+=/:@\-]*(?<!:)\Z")  # "x:" would be a key
# Text that a YAML reader would not read as text: azcost's own words (see _yaml), and
# YAML 1.1's booleans, which azcost reads as text but other YAML readers would not.
_NOT_STRINGS = (NULL_WORDS | TRUE_WORDS | FALSE_WORDS) - {""} | {
    "yes", "Yes", "YES", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF", "y", "n",
}  # fmt: skip


@dataclass(frozen=True)
class TableDoc:
    """A validated pricing file and the comment block at its top."""

    path: str
    """Where the file was read from."""
    file: PricingFile
    """The validated contents."""
    header: str
    """The leading comment lines (``#``...), kept when the file is rewritten."""


def read_table(path: str | Path) -> TableDoc:
    """Read and fully validate one pricing file (schema and cross-field rules)."""
    from ._load import load_pricing

    load_pricing(path)  # every rule the loader enforces; raises PricingFileError
    try:
        text = read_text(path)
    except InputFileError as exc:  # pragma: no cover - the loader read it a moment ago
        raise as_pricing_error(exc) from None
    data, _ = load_yaml(path, text)
    try:
        parsed = PricingFile.model_validate(data)
    except ValidationError as exc:  # pragma: no cover - load_pricing already refused it
        raise PricingFileError(str(exc), path=str(path)) from None
    return TableDoc(str(path), parsed, header_of(text))


def header_of(text: str) -> str:
    """The leading comment block of a YAML text (comment and blank lines before any content)."""
    lines: list[str] = []
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            lines.append(line)
        else:
            break
    while lines and not lines[-1].strip():
        lines.pop()
    return "\n".join(lines)


def series_sort_key(series: PriceSeries) -> tuple[int, str]:
    """Canonical series order: deployment type, then region (region-less first)."""
    return (deployment_type_order(series.deployment_type), series.region or "")


# --------------------------------------------------------------------------- scalars


def _plain_or_quoted(text: str, *, int_ok: bool = False) -> str:
    if (
        _SAFE_PLAIN.match(text)
        and text not in _NOT_STRINGS
        and not DECIMAL_RE.match(text)
        # the reader drops underscores from a number (1_000 is 1000): plain only when
        # the integer it reads back is written exactly as this text
        and (not INT_RE.match(text) or (int_ok and str(int(text.replace("_", ""))) == text))
    ):
        return text
    return _quoted(text)


# characters YAML does not allow in a document, and its line breaks beyond \n (NEL, LS,
# PS, which a quoted scalar would fold): written as \u escapes
_NOT_YAML_PRINTABLE = re.compile(
    "[^\t\n\r\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
)


def _quoted(text: str) -> str:
    quoted = json.dumps(text, ensure_ascii=False)
    return _NOT_YAML_PRINTABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", quoted)


def _number(value: Decimal) -> str:
    text = format(value, "f")
    if not re.fullmatch(r"\d+(\.\d+)?", text):  # pragma: no cover - schema forbids it
        raise ValueError(f"cannot write price {value!r}")
    return text


# --------------------------------------------------------------------------- dumping


def _source_lines(sid: str, src: Source) -> list[str]:
    lines = [f"  {_plain_or_quoted(sid)}:", f"    title: {_quoted(src.title)}"]
    lines.append(f"    url: {_plain_or_quoted(src.url)}")
    lines.append(f"    retrieved_on: {src.retrieved_on.isoformat()}")
    if src.note is not None:
        lines.append(f"    note: {_quoted(src.note)}")
    return lines


def _period_lines(p: PricePeriod) -> list[str]:
    lines = [f"          - effective_from: {p.effective_from.isoformat()}"]
    for name in RATE_FIELDS:
        value: Decimal | None = getattr(p, name)
        if value is not None:
            lines.append(f"            {name}: {_number(value)}")
    if p.service_tiers:
        lines.append("            service_tiers:")
        for tier in TIER_NAMES:
            rates = p.service_tiers.get(tier)
            if rates is None:
                continue
            lines.append(f"              {tier}:")
            for name in RATE_FIELDS:
                tier_value: Decimal | None = getattr(rates, name)
                if tier_value is not None:
                    lines.append(f"                {name}: {_number(tier_value)}")
    lines.append(f"            source: {_plain_or_quoted(p.source)}")
    if p.note is not None:
        lines.append(f"            note: {_quoted(p.note)}")
    return lines


def _periods_block(series: PriceSeries) -> str:
    periods = sorted(series.periods, key=lambda p: p.effective_from)
    return "\n".join(line for p in periods for line in _period_lines(p))


def _shared_blocks(f: PricingFile) -> dict[str, str]:
    """Anchor name per price history that several region series share, in file order."""
    counts: dict[str, int] = {}
    for entry in f.models.values():
        for series in entry.prices:
            if series.region is not None:
                block = _periods_block(series)
                counts[block] = counts.get(block, 0) + 1
    shared = [block for block, n in counts.items() if n > 1]
    return {block: f"p{i}" for i, block in enumerate(shared, 1)}


def _model_lines(name: str, m: ModelEntry, anchors: dict[str, str], written: set[str]) -> list[str]:
    lines = [f"  {_plain_or_quoted(name)}:"]
    lines.append(f"    base: {_plain_or_quoted(m.base)}")
    lines.append(f"    version: {_plain_or_quoted(m.version, int_ok=True)}")
    lines.append(f"    kind: {m.kind}")
    if m.display_name is not None:
        lines.append(f"    display_name: {_quoted(m.display_name)}")
    if m.aliases:
        lines.append("    aliases: [" + ", ".join(_plain_or_quoted(a) for a in m.aliases) + "]")
    if m.default_for_base:
        lines.append("    default_for_base: true")
    lines.append(f"    default_deployment_type: {m.default_deployment_type.value}")
    if m.retired_on is not None:
        lines.append(f"    retired_on: {m.retired_on.isoformat()}")
    if m.note is not None:
        lines.append(f"    note: {_quoted(m.note)}")
    lines.append("    prices:")
    for series in sorted(m.prices, key=series_sort_key):
        lines.append(f"      - deployment_type: {series.deployment_type.value}")
        if series.region is not None:
            lines.append(f"        region: {series.region}")
        block = _periods_block(series)
        anchor = anchors.get(block) if series.region is not None else None
        if anchor is None:
            lines.append("        periods:")
        elif anchor in written:
            lines.append(f"        periods: *{anchor}")
            continue
        else:
            lines.append(f"        periods: &{anchor}")
            written.add(anchor)
        lines.append(block)
    return lines


def dump_table(f: PricingFile, header: str = "") -> str:
    """The canonical YAML text of a pricing file, with ``header`` (comment lines) on top."""
    lines: list[str] = []
    if header.strip():
        for line in header.rstrip("\n").splitlines():
            if line.strip() and not line.startswith("#"):
                raise ValueError(f"header line is not a comment: {line!r}")
            lines.append(line)
        lines.append("")
    lines.append(f"schema_version: {f.schema_version}")
    lines.append(f"version: {_plain_or_quoted(f.version)}")
    lines.append(f"currency: {f.currency}")
    if f.description is not None:
        lines.append(f"description: {_quoted(f.description)}")
    lines.append("sources:")
    for sid, src in f.sources.items():
        lines.extend(_source_lines(sid, src))
    if not f.models:
        lines.append("models: {}")
    else:
        lines.append("models:")
        # region series with the same price history are written once and referred to
        anchors, written = _shared_blocks(f), set[str]()
        for name, entry in f.models.items():
            lines.extend(_model_lines(name, entry, anchors, written))
    return "\n".join(lines) + "\n"


def write_atomic(
    path: str | Path, text: str, *, check: Callable[[Path], object] | None = None
) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename: never half a file.

    ``check`` is called with the temporary file before the rename; if it raises,
    the target is left untouched.
    """
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    if target.is_dir():
        raise IsADirectoryError(errno.EISDIR, "cannot write: is a folder", str(target))
    if not folder.is_dir():
        raise FileNotFoundError(
            errno.ENOENT, f"cannot write: no folder {str(folder)!r}", str(target)
        )
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        if target.exists():
            os.chmod(tmp, target.stat().st_mode & 0o7777)
        else:
            os.chmod(tmp, 0o644)
        if check is not None:
            check(Path(tmp))
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
