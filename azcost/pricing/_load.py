"""Loading pricing files: read, validate (or take from the cache), compile, layer.

A file is validated by :mod:`azcost.pricing._validate` (the pydantic schema plus the
rules a schema cannot express) and compiled into the run-time records of
:mod:`azcost.pricing._records`; the compiled form is cached by
:mod:`azcost.pricing._cache`, so a process that loads an unchanged table skips YAML and
pydantic altogether. ``azcost pricing validate`` always validates afresh.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._input import decode_text, read_bytes
from ..errors import InputFileError, PricingFileError
from ._cache import read_cache, write_cache
from ._records import CompiledFile, ModelInfo
from ._table import PricingTable
from ._validate import compile_parsed, located, validate_text

if TYPE_CHECKING:
    from ._yaml import Positions

__all__ = ["compile_file", "load_pricing", "shipped_pricing_paths", "validate_files"]


def _read(path: str) -> bytes:
    try:
        return read_bytes(path)
    except InputFileError as exc:
        raise PricingFileError(exc.problem, path=path) from None


def _decode(raw: bytes, path: str) -> str:
    try:
        return decode_text(raw, path)
    except InputFileError as exc:
        raise PricingFileError(exc.problem_at_column, path=path, line=exc.line) from None


def compile_file(path: str | Path, *, use_cache: bool = True) -> CompiledFile:
    """Validate one pricing file and compile it (from the cache when its bytes are unchanged)."""
    name = str(path)
    raw = _read(name)
    if use_cache:
        cached = read_cache(raw, name)
        if cached is not None:
            return cached
    parsed, _ = validate_text(name, _decode(raw, name))
    compiled = compile_parsed(parsed, name)
    if use_cache:
        write_cache(raw, compiled)
    return compiled


def _positions(path: str) -> Positions:
    """Line numbers of a file already known to be valid (for layering errors)."""
    from ._yaml import load_yaml

    try:
        return load_yaml(path)[1]
    except PricingFileError:  # pragma: no cover - the file validated a moment ago
        return {}


def _layer(files: Sequence[CompiledFile]) -> PricingTable:
    taken: dict[str, tuple[str, str]] = {}  # name or alias -> (model, file)
    owner: dict[str, ModelInfo] = {}
    for f in files:
        if f.currency != files[0].currency:
            raise PricingFileError(
                f"currency {f.currency} differs from {files[0].currency} in {files[0].path}; "
                "layered files must share one currency",
                path=f.path,
                line=_positions(f.path).get(("currency",)),
                field="currency",
            )
        # a later file replaces whole models: free the names the replaced entries held
        for name in f.models:
            old = owner.get(name)
            if old is not None:
                for alias in (name, *old.aliases):
                    taken.pop(alias, None)
        for name, info in f.models.items():
            for i, alias in enumerate((name, *info.aliases)):
                prev = taken.get(alias)
                if prev is not None and prev[0] != name:
                    loc: tuple[Any, ...] = (
                        ("models", name) if i == 0 else ("models", name, "aliases", i - 1)
                    )
                    raise located(
                        f.path,
                        _positions(f.path),
                        loc,
                        f"name {alias!r} is already taken by model {prev[0]!r} in {prev[1]}",
                    )
                taken[alias] = (name, f.path)
            owner[name] = info
    return PricingTable(files)


_AZCOST_DIR = Path(__file__).resolve().parent.parent
# In a wheel the repository's top-level pricing/ folder is packed as azcost/_tables/;
# in a source checkout (editable install) it is read where it is.
_SHIPPED_DIRS = (_AZCOST_DIR / "_tables", _AZCOST_DIR.parent / "pricing")


def shipped_pricing_paths() -> list[Path]:
    """Paths of the pricing tables shipped with azcost, in layering order."""
    for folder in _SHIPPED_DIRS:
        found = sorted(folder.glob("*.yaml"))
        if found:
            return found
    raise PricingFileError("azcost's shipped pricing tables are missing", path=_SHIPPED_DIRS[0])


_shipped: PricingTable | None = None
_shipped_lock = threading.Lock()


def load_pricing(*paths: str | Path) -> PricingTable:
    """Load and validate pricing files, later ones overriding earlier ones per model.

    With no path, the shipped table (parsed once per process).
    """
    global _shipped
    if paths:
        return _layer([compile_file(p) for p in paths])
    table = _shipped
    if table is None:
        with _shipped_lock:
            table = _shipped
            if table is None:
                table = _shipped = _layer([compile_file(p) for p in shipped_pricing_paths()])
    return table


def validate_files(paths: Sequence[str | Path]) -> list[PricingFileError]:
    """Every problem in the given files, each validated afresh, then layered in order."""
    problems: list[PricingFileError] = []
    compiled: list[CompiledFile] = []
    for path in paths:
        try:
            compiled.append(compile_file(path, use_cache=False))
        except PricingFileError as exc:
            problems.append(exc)
            problems.extend(exc.others)
    if not problems and compiled:
        try:
            _layer(compiled)
        except PricingFileError as exc:
            problems.append(exc)
    return problems
