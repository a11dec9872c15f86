"""Loading pricing files: strict validation, compilation, a content-keyed cache, layering.

A file is validated with the pydantic schema (:mod:`azcost._schema`) plus the
rules a schema cannot express (canonical keys, date order, sources, aliases),
then compiled into the run-time records of :mod:`azcost._pricing`. The
compiled form is cached as JSON under the cache directory, keyed by the SHA-256
of the file's bytes: a process that loads an unchanged table skips YAML and
pydantic altogether. ``azcost pricing validate`` always validates afresh.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import threading
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._input import decode_text, read_bytes
from .._paths import cache_dir
from ..errors import InputFileError, PricingFileError
from ._deployment_types import DeploymentType
from ._kinds import KINDS, RATE_FIELDS
from ._records import CompiledFile, ModelInfo, Period, SeriesInfo, SourceInfo
from ._table import PricingTable

if TYPE_CHECKING:
    from pydantic import ValidationError

    from ._schema import PricePeriod, PricingFile
    from ._yaml import Positions

__all__ = ["compile_file", "load_pricing", "shipped_pricing_paths", "validate_files"]

_CACHE_FORMAT = 2  # 2: one rate field per token kind of _kinds.KINDS


def _problem_from_validation(
    exc: ValidationError, path: str, positions: Positions
) -> PricingFileError:
    from ._schema import describe_error

    errors = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        errors.append(
            _located(
                path, positions, loc, describe_error(err, "not in the pricing schema; a typo?")
            )
        )
    first = errors[0]
    if len(errors) > 1:
        first.others = errors[1:]
    return first


def _located(
    path: str, positions: Positions, loc: tuple[Any, ...], problem: str
) -> PricingFileError:
    from ._yaml import line_for  # error path only: a cached load imports no YAML

    line = line_for(positions, loc)
    model = str(loc[1]) if len(loc) > 1 and loc[0] == "models" else None
    strs = [p for p in loc if isinstance(p, str)]
    field = strs[-1] if strs and not (model is not None and len(strs) == 2) else None
    if len(loc) == 1:
        field = str(loc[0])
    return PricingFileError(problem, path=path, line=line, model=model, field=field)


def _semantic_checks(f: PricingFile, path: str, positions: Positions) -> list[PricingFileError]:
    problems: list[PricingFileError] = []

    def fail(loc: tuple[Any, ...], problem: str) -> None:
        problems.append(_located(path, positions, loc, problem))

    names: dict[str, str] = {}
    for name in f.models:
        names[name] = name
    defaults: dict[str, str] = {}
    for name, entry in f.models.items():
        m = ("models", name)
        if name != name.strip().lower() or name != f"{entry.base}-{entry.version}".lower():
            fail(
                (*m, "version"),
                f"key must be the canonical name base-version "
                f"({entry.base}-{entry.version}), lower-case",
            )
        for i, alias in enumerate(entry.aliases):
            other = names.get(alias)
            if other is not None and other != name:
                what = "model" if other == alias else f"an alias of {other!r}"
                fail((*m, "aliases", i), f"alias {alias!r} collides with {what}")
            else:
                names[alias] = name
        if entry.default_for_base:
            prev = defaults.get(entry.base)
            if prev is not None:
                fail(
                    (*m, "default_for_base"),
                    f"{prev!r} is already the default version of {entry.base!r}",
                )
            defaults[entry.base] = name
        seen: set[tuple[DeploymentType, str | None]] = set()
        for si, series in enumerate(entry.prices):
            s = (*m, "prices", si)
            key = (series.deployment_type, series.region)
            if key in seen:
                where = f" in {series.region}" if series.region else ""
                fail(
                    (*s, "deployment_type"),
                    f"second {series.deployment_type.value} series{where}: merge their periods",
                )
            seen.add(key)
            prev_day: dt.date | None = None
            for pi, period in enumerate(series.periods):
                p = (*s, "periods", pi)
                if prev_day is not None and period.effective_from <= prev_day:
                    word = "duplicate" if period.effective_from == prev_day else "unsorted"
                    fail(
                        (*p, "effective_from"),
                        f"{word} effective date {period.effective_from} "
                        f"(previous period starts {prev_day}); periods must be oldest first",
                    )
                prev_day = period.effective_from
                if period.source not in f.sources:
                    fail(
                        (*p, "source"),
                        f"unknown source {period.source!r}; known: {', '.join(sorted(f.sources))}",
                    )
                if entry.kind != "embedding" and not _sells_output(period):
                    fail((*p, "output_per_mtok"), f"a {entry.kind} model needs an output rate")
        if (entry.default_deployment_type, None) not in seen:
            fail(
                (*m, "default_deployment_type"),
                f"no region-less {entry.default_deployment_type.value} series to default to",
            )
    return problems


def _validate_text(path: str, text: str) -> tuple[PricingFile, Positions]:
    from pydantic import ValidationError

    from ._schema import PricingFile
    from ._yaml import load_yaml

    data, positions = load_yaml(path, text)
    if not isinstance(data, dict):
        raise PricingFileError(
            "a pricing file must be a mapping at the top level", path=path, line=1
        )
    try:
        parsed = PricingFile.model_validate(data)
    except ValidationError as exc:
        raise _problem_from_validation(exc, path, positions) from None
    problems = _semantic_checks(parsed, path, positions)
    if problems:
        first = problems[0]
        first.others = problems[1:]
        raise first
    return parsed, positions


def _compile(parsed: PricingFile, path: str) -> CompiledFile:
    sources = {
        key: SourceInfo(key, s.title, s.url, s.retrieved_on, s.note)
        for key, s in parsed.sources.items()
    }
    models = {}
    for name, e in parsed.models.items():
        series = tuple(
            SeriesInfo(
                s.deployment_type,
                s.region,
                tuple(
                    Period(
                        p.effective_from,
                        tuple(getattr(p, name) for name in RATE_FIELDS),
                        sources[p.source],
                        p.note,
                    )
                    for p in s.periods
                ),
            )
            for s in e.prices
        )
        models[name] = ModelInfo(
            name,
            e.base,
            e.version,
            e.kind,
            e.display_name,
            tuple(e.aliases),
            e.default_for_base,
            e.default_deployment_type,
            e.retired_on,
            series,
            path,
            e.note,
        )
    return CompiledFile(path, parsed.version, parsed.currency, parsed.description, sources, models)


# --------------------------------------------------------------------------- cache


def _to_cache(f: CompiledFile) -> dict[str, Any]:
    def period(p: Period) -> dict[str, Any]:
        out: dict[str, Any] = {"effective_from": p.effective_from.isoformat()}
        for name, value in zip(RATE_FIELDS, p.rates, strict=True):
            out[name] = None if value is None else str(value)
        out["source"] = p.source.id
        out["note"] = p.note
        return out

    return {
        "format": _CACHE_FORMAT,
        "version": f.version,
        "currency": f.currency,
        "description": f.description,
        "sources": {
            k: [s.title, s.url, s.retrieved_on.isoformat(), s.note] for k, s in f.sources.items()
        },
        "models": {
            name: {
                "base": m.base,
                "version": m.version,
                "kind": m.kind,
                "display_name": m.display_name,
                "aliases": list(m.aliases),
                "default_for_base": m.default_for_base,
                "default_deployment_type": m.default_deployment_type.value,
                "retired_on": None if m.retired_on is None else m.retired_on.isoformat(),
                "note": m.note,
                "prices": [
                    [s.deployment_type.value, s.region, [period(p) for p in s.periods]]
                    for s in m.prices
                ],
            }
            for name, m in f.models.items()
        },
    }


def _from_cache(data: dict[str, Any], path: str) -> CompiledFile:
    day = dt.date.fromisoformat
    sources = {
        k: SourceInfo(k, title, url, day(retrieved), note)
        for k, (title, url, retrieved, note) in data["sources"].items()
    }

    def rate(value: str | None) -> Decimal | None:
        return None if value is None else Decimal(value)

    models = {}
    for name, m in data["models"].items():
        series = tuple(
            SeriesInfo(
                DeploymentType(dtype),
                region,
                tuple(
                    Period(
                        day(p["effective_from"]),
                        tuple(rate(p[name]) for name in RATE_FIELDS),
                        sources[p["source"]],
                        p["note"],
                    )
                    for p in periods
                ),
            )
            for dtype, region, periods in m["prices"]
        )
        retired = m["retired_on"]
        models[name] = ModelInfo(
            name,
            m["base"],
            m["version"],
            m["kind"],
            m["display_name"],
            tuple(m["aliases"]),
            m["default_for_base"],
            DeploymentType(m["default_deployment_type"]),
            None if retired is None else day(retired),
            series,
            path,
            m["note"],
        )
    return CompiledFile(
        path, data["version"], data["currency"], data["description"], sources, models
    )


def _cache_path(raw: bytes) -> Path:
    from .._version import __version__

    digest = hashlib.sha256(raw).hexdigest()[:32]
    return cache_dir() / f"pricing-{digest}-v{_CACHE_FORMAT}-{__version__}.json"


def _read_cache(raw: bytes, path: str) -> CompiledFile | None:
    if os.environ.get("AZCOST_NO_CACHE"):
        return None
    try:
        data = json.loads(_cache_path(raw).read_text(encoding="utf-8"))
        if data.get("format") != _CACHE_FORMAT:
            return None
        return _from_cache(data, path)
    except (OSError, ValueError, KeyError, TypeError):
        return None  # a missing or damaged cache entry is only a slower load


def _write_cache(raw: bytes, compiled: CompiledFile) -> None:
    if os.environ.get("AZCOST_NO_CACHE"):
        return
    target = _cache_path(raw)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_text(json.dumps(_to_cache(compiled)), encoding="utf-8")
        os.replace(tmp, target)
    except OSError:
        pass  # read-only home, full disk: the table still loads, only uncached


# --------------------------------------------------------------------------- loading


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
        cached = _read_cache(raw, name)
        if cached is not None:
            return cached
    parsed, _ = _validate_text(name, _decode(raw, name))
    compiled = _compile(parsed, name)
    if use_cache:
        _write_cache(raw, compiled)
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
                    raise _located(
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


def _sells_output(period: PricePeriod) -> bool:
    """A rate for some output kind: text, or audio or image for models that output only those."""
    return any(getattr(period, k.rate_field) is not None for k in KINDS if k.side == "output")
