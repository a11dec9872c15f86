"""Pricing tables: loading, layering, validation and exact cost computation."""

from __future__ import annotations

import bisect
import datetime as dt
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ._money import money_str
from ._resolve import NameIndex, Resolution
from ._schema import (
    DeploymentType,
    ModelEntry,
    PricePeriod,
    PricingFile,
    Source,
    parse_deployment_type,
)
from ._yaml import Positions, load_yaml
from .errors import InvalidUsageError, NoPriceError, PricingFileError

__all__ = [
    "Cost",
    "PricingTable",
    "Rates",
    "load_pricing",
    "shipped_pricing_paths",
]

_PER_TOKEN = -6  # rates are per 1M tokens: scaleb(-6) is exact
_ZERO = Decimal(0)
_FAR_FUTURE = float("inf")


def _epoch(day: dt.date) -> float:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc).timestamp()


class Rates:
    """The rates of one price period, per token, with where they came from."""

    __slots__ = (
        "audio_input",
        "audio_output",
        "cached_input",
        "deployment_type",
        "input",
        "model",
        "output",
        "period",
        "region",
        "source",
    )

    def __init__(
        self,
        model: str,
        deployment_type: DeploymentType,
        region: str | None,
        period: PricePeriod,
        source: Source,
    ) -> None:
        self.model = model
        self.deployment_type = deployment_type
        self.region = region
        self.period = period
        self.source = source
        self.input = period.input_per_mtok.scaleb(_PER_TOKEN)
        cached = period.cached_input_per_mtok
        self.cached_input = self.input if cached is None else cached.scaleb(_PER_TOKEN)
        out = period.output_per_mtok
        self.output = _ZERO if out is None else out.scaleb(_PER_TOKEN)
        a_in = period.audio_input_per_mtok
        self.audio_input = self.input if a_in is None else a_in.scaleb(_PER_TOKEN)
        a_out = period.audio_output_per_mtok
        self.audio_output = self.output if a_out is None else a_out.scaleb(_PER_TOKEN)

    def __repr__(self) -> str:
        where = self.deployment_type.value + (f"@{self.region}" if self.region else "")
        return f"<Rates {self.model} {where} from {self.period.effective_from}>"


class _Series:
    __slots__ = ("cur", "cur_hi", "cur_lo", "model", "rates", "starts")

    def __init__(self, model: str, rates: list[Rates]) -> None:
        self.model = model
        self.rates = rates
        self.starts = [_epoch(r.period.effective_from) for r in rates]
        self.cur: Rates | None = None
        self.cur_lo = 0.0
        self.cur_hi = -1.0

    def at(self, when: float) -> Rates:
        i = bisect.bisect_right(self.starts, when) - 1
        if i < 0:
            first = self.rates[0]
            day = dt.datetime.fromtimestamp(when, dt.timezone.utc).date()
            raise NoPriceError(
                self.model,
                f"no {first.deployment_type.value} price in force on {day}; "
                f"the first period starts {first.period.effective_from}",
            )
        rates = self.rates[i]
        self.cur_lo = self.starts[i]
        self.cur_hi = self.starts[i + 1] if i + 1 < len(self.starts) else _FAR_FUTURE
        self.cur = rates
        return rates


class Cost:
    """The exact cost of one call: total, amount per token kind, and the rates used."""

    __slots__ = (
        "audio_input_tokens",
        "audio_output_tokens",
        "cached_input_tokens",
        "currency",
        "input_tokens",
        "output_tokens",
        "rates",
        "reasoning_tokens",
        "resolution",
        "table_version",
        "total",
    )

    total: Decimal
    rates: Rates
    resolution: Resolution

    @property
    def model(self) -> str:
        """Canonical versioned model name that was priced."""
        return self.rates.model

    @property
    def deployment_type(self) -> DeploymentType:
        """Deployment type whose rates were used."""
        return self.rates.deployment_type

    @property
    def region(self) -> str | None:
        """Region of the region-specific series used, or None."""
        return self.rates.region

    @property
    def period(self) -> PricePeriod:
        """The price period in force."""
        return self.rates.period

    @property
    def input_cost(self) -> Decimal:
        """Cost of input tokens billed at the plain input rate."""
        plain = self.input_tokens - self.cached_input_tokens - self.audio_input_tokens
        return plain * self.rates.input

    @property
    def cached_input_cost(self) -> Decimal:
        """Cost of cached input tokens."""
        return self.cached_input_tokens * self.rates.cached_input

    @property
    def output_cost(self) -> Decimal:
        """Cost of (text) output tokens, reasoning tokens included."""
        return (self.output_tokens - self.audio_output_tokens) * self.rates.output

    @property
    def audio_input_cost(self) -> Decimal:
        """Cost of audio input tokens."""
        return self.audio_input_tokens * self.rates.audio_input

    @property
    def audio_output_cost(self) -> Decimal:
        """Cost of audio output tokens."""
        return self.audio_output_tokens * self.rates.audio_output

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: decimals as strings."""
        period = self.rates.period
        return {
            "model": self.model,
            "requested": self.resolution.requested,
            "model_version": self.resolution.model_version,
            "match": self.resolution.match.value,
            "assumed_version": self.resolution.assumed,
            "deployment_type": self.deployment_type.value,
            "region": self.region,
            "effective_from": period.effective_from.isoformat(),
            "source": period.source,
            "source_url": self.rates.source.url,
            "table_version": self.table_version,
            "currency": self.currency,
            "input_tokens": self.input_tokens,
            "cached_input_tokens": self.cached_input_tokens,
            "output_tokens": self.output_tokens,
            "reasoning_tokens": self.reasoning_tokens,
            "audio_input_tokens": self.audio_input_tokens,
            "audio_output_tokens": self.audio_output_tokens,
            "input_cost": money_str(self.input_cost),
            "cached_input_cost": money_str(self.cached_input_cost),
            "output_cost": money_str(self.output_cost),
            "audio_input_cost": money_str(self.audio_input_cost),
            "audio_output_cost": money_str(self.audio_output_cost),
            "total_cost": money_str(self.total),
        }

    def __repr__(self) -> str:
        return (
            f"<Cost {self.total} {self.currency} {self.model} "
            f"{self.deployment_type.value} in={self.input_tokens} out={self.output_tokens}>"
        )


def _check_tokens(
    input_tokens: int,
    output_tokens: int,
    cached: int,
    reasoning: int,
    audio_in: int,
    audio_out: int,
) -> None:
    for name, value in (
        ("input_tokens", input_tokens),
        ("output_tokens", output_tokens),
        ("cached_input_tokens", cached),
        ("reasoning_tokens", reasoning),
        ("audio_input_tokens", audio_in),
        ("audio_output_tokens", audio_out),
    ):
        if type(value) is not int or value < 0:
            raise InvalidUsageError(f"{name} must be a non-negative int, got {value!r}")
    if cached + audio_in > input_tokens:
        raise InvalidUsageError(
            f"cached ({cached}) and audio ({audio_in}) input tokens exceed input_tokens "
            f"({input_tokens}); input_tokens counts every prompt token, cached included"
        )
    if max(reasoning, audio_out) > output_tokens:
        raise InvalidUsageError(
            f"reasoning ({reasoning}) or audio ({audio_out}) output tokens exceed "
            f"output_tokens ({output_tokens}); output_tokens includes them"
        )


def _when(at: dt.datetime | dt.date | None) -> float:
    if at is None:
        return time.time()
    if isinstance(at, dt.datetime):
        if at.tzinfo is None:
            at = at.replace(tzinfo=dt.timezone.utc)
        return at.timestamp()
    return _epoch(at)


class PricingTable:
    """A validated, layered pricing table; ``cost()`` prices one call exactly."""

    def __init__(
        self,
        files: Sequence[PricingFile],
        paths: Sequence[str],
        model_files: Mapping[str, str],
    ) -> None:
        self.files = tuple(files)
        """Validated files, in layering order."""
        self.paths = tuple(paths)
        """Paths of the files, in layering order."""
        self.version = "+".join(f.version for f in files)
        """Version of the table: the file versions joined with '+'."""
        self.currency = files[0].currency
        """Currency of every price."""
        models: dict[str, ModelEntry] = {}
        sources: dict[str, dict[str, Source]] = {}
        for path, f in zip(paths, files, strict=True):
            models.update(f.models)
            sources[path] = dict(f.sources)
        self.models: Mapping[str, ModelEntry] = dict(sorted(models.items()))
        """Model entries by canonical name."""
        self.model_files: Mapping[str, str] = dict(model_files)
        """Which file each model's entry came from."""
        aliases: dict[str, str] = {}
        bases: dict[str, str] = {}
        self._series: dict[tuple[str, DeploymentType, str | None], _Series] = {}
        for name, entry in self.models.items():
            for alias in entry.aliases:
                aliases[alias] = name
            if entry.default_for_base:
                bases[entry.base] = name
            file_sources = sources[self.model_files[name]]
            for series in entry.prices:
                rates = [
                    Rates(name, series.deployment_type, series.region, p, file_sources[p.source])
                    for p in series.periods
                ]
                self._series[(name, series.deployment_type, series.region)] = _Series(
                    name, rates
                )
        self.names = NameIndex(self.models, aliases, bases)
        """The name index used for resolution."""
        self._lookup_cache: dict[
            tuple[str, str | None, str | DeploymentType | None, str | None],
            tuple[_Series, Resolution],
        ] = {}

    def __repr__(self) -> str:
        return f"<PricingTable {self.version} {len(self.models)} models {self.currency}>"

    def __len__(self) -> int:
        return len(self.models)

    def __iter__(self) -> Iterator[str]:
        return iter(self.models)

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        try:
            self.names.resolve(name)
        except LookupError:
            return False
        return True

    def resolve(self, model: str, model_version: str | None = None) -> Resolution:
        """Resolve a reported model name (and version) to a canonical entry."""
        return self.names.resolve(model, model_version)

    def deployment_types(self, model: str) -> list[DeploymentType]:
        """Deployment types the table prices ``model`` in."""
        entry = self.models[self.names.resolve(model).model]
        return sorted({s.deployment_type for s in entry.prices}, key=list(DeploymentType).index)

    def _find_series(
        self,
        model: str,
        model_version: str | None,
        deployment_type: str | DeploymentType | None,
        region: str | None,
    ) -> tuple[_Series, Resolution]:
        resolution = self.names.resolve(model, model_version)
        name = resolution.model
        entry = self.models[name]
        dtype = (
            entry.default_deployment_type
            if deployment_type is None
            else parse_deployment_type(deployment_type)
        )
        reg = region.strip().lower().replace(" ", "") if region else None
        series = self._series.get((name, dtype, reg)) if reg else None
        if series is None:
            series = self._series.get((name, dtype, None))
        if series is None:
            offered = ", ".join(t.value for t in self.deployment_types(name))
            raise NoPriceError(
                name, f"no {dtype.value} price in the table (priced: {offered})"
            )
        return series, resolution

    def rates(
        self,
        model: str,
        *,
        model_version: str | None = None,
        deployment_type: str | DeploymentType | None = None,
        region: str | None = None,
        at: dt.datetime | dt.date | None = None,
    ) -> Rates:
        """The rates in force for a model, deployment type and region at a time (default: now)."""
        series, _ = self._find_series(model, model_version, deployment_type, region)
        return series.at(_when(at))

    def cost(
        self,
        model: str,
        *,
        input_tokens: int,
        output_tokens: int,
        cached_input_tokens: int = 0,
        reasoning_tokens: int = 0,
        audio_input_tokens: int = 0,
        audio_output_tokens: int = 0,
        model_version: str | None = None,
        deployment_type: str | DeploymentType | None = None,
        region: str | None = None,
        at: dt.datetime | dt.date | None = None,
    ) -> Cost:
        """Exact cost of one call; ``input_tokens`` includes cached, ``output_tokens`` reasoning."""
        key = (model, model_version, deployment_type, region)
        found = self._lookup_cache.get(key)
        if found is None:
            found = self._find_series(model, model_version, deployment_type, region)
            if len(self._lookup_cache) < 4096:
                self._lookup_cache[key] = found
        series, resolution = found
        when = time.time() if at is None else _when(at)
        rates = series.cur
        if rates is None or not series.cur_lo <= when < series.cur_hi:
            rates = series.at(when)
        if (
            cached_input_tokens
            or audio_input_tokens
            or audio_output_tokens
            or reasoning_tokens
            or type(input_tokens) is not int
            or type(output_tokens) is not int
            or input_tokens < 0
            or output_tokens < 0
        ):
            _check_tokens(
                input_tokens,
                output_tokens,
                cached_input_tokens,
                reasoning_tokens,
                audio_input_tokens,
                audio_output_tokens,
            )
            total = (
                (input_tokens - cached_input_tokens - audio_input_tokens) * rates.input
                + cached_input_tokens * rates.cached_input
                + (output_tokens - audio_output_tokens) * rates.output
                + audio_input_tokens * rates.audio_input
                + audio_output_tokens * rates.audio_output
            )
        else:
            total = input_tokens * rates.input + output_tokens * rates.output
        result = Cost.__new__(Cost)
        result.total = total
        result.rates = rates
        result.resolution = resolution
        result.table_version = self.version
        result.currency = self.currency
        result.input_tokens = input_tokens
        result.output_tokens = output_tokens
        result.cached_input_tokens = cached_input_tokens
        result.reasoning_tokens = reasoning_tokens
        result.audio_input_tokens = audio_input_tokens
        result.audio_output_tokens = audio_output_tokens
        return result


# --------------------------------------------------------------------------- loading


def _problem_from_validation(
    exc: ValidationError, path: str, positions: Positions
) -> PricingFileError:
    errors = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        errors.append(_located(path, positions, loc, _describe(err)))
    first = errors[0]
    if len(errors) > 1:
        first.others = errors[1:]
    return first


def _describe(err: Any) -> str:
    kind = err.get("type")
    if kind == "extra_forbidden":
        return "unknown field (not in the pricing schema; a typo?)"
    if kind == "missing":
        return "required field is missing"
    msg = str(err.get("msg", "invalid value"))
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    if "input" in err and kind not in ("dict_type", "list_type", "model_type"):
        msg += f" (got {err['input']!r})"
    return msg


def _located(
    path: str, positions: Positions, loc: tuple[Any, ...], problem: str
) -> PricingFileError:
    line = None
    for n in range(len(loc), -1, -1):
        line = positions.get(loc[:n])
        if line is not None:
            break
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
                if entry.kind != "embedding" and period.output_per_mtok is None:
                    fail((*p, "output_per_mtok"), f"a {entry.kind} model needs an output rate")
        if (entry.default_deployment_type, None) not in seen:
            fail(
                (*m, "default_deployment_type"),
                f"no region-less {entry.default_deployment_type.value} series to default to",
            )
    return problems


def _validate_file(path: str) -> tuple[PricingFile, Positions]:
    data, positions = load_yaml(path)
    if not isinstance(data, dict):
        raise PricingFileError("a pricing file must be a mapping at the top level", path=path, line=1)
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


def _build(paths: Sequence[str | Path]) -> PricingTable:
    files: list[PricingFile] = []
    names: list[str] = []
    owner: dict[str, str] = {}
    taken: dict[str, tuple[str, str]] = {}  # name or alias -> (model, file)
    for raw in paths:
        path = str(raw)
        parsed, positions = _validate_file(path)
        if files and parsed.currency != files[0].currency:
            raise PricingFileError(
                f"currency {parsed.currency} differs from {files[0].currency} in {names[0]}; "
                "layered files must share one currency",
                path=path,
                line=positions.get(("currency",)),
                field="currency",
            )
        # a later file replaces whole models: drop the names the replaced entries held
        for name in parsed.models:
            if name in owner:
                old = files[names.index(owner[name])].models[name]
                for alias in (name, *old.aliases):
                    taken.pop(alias, None)
        for name, entry in parsed.models.items():
            for i, alias in enumerate((name, *entry.aliases)):
                prev = taken.get(alias)
                if prev is not None and prev[0] != name:
                    loc: tuple[Any, ...] = ("models", name) if i == 0 else ("models", name, "aliases", i - 1)
                    raise _located(
                        path,
                        positions,
                        loc,
                        f"name {alias!r} is already taken by model {prev[0]!r} in {prev[1]}",
                    )
                taken[alias] = (name, path)
            owner[name] = path
        files.append(parsed)
        names.append(path)
    if not files:
        raise PricingFileError("no pricing file given")
    return PricingTable(files, names, owner)


_PKG_DIR = Path(__file__).resolve().parent


def shipped_pricing_paths() -> list[Path]:
    """Paths of the pricing tables shipped with azcost, in layering order."""
    for folder in (_PKG_DIR / "pricing", _PKG_DIR.parent / "pricing"):
        found = sorted(folder.glob("*.yaml"))
        if found:
            return found
    raise PricingFileError("azcost's shipped pricing tables are missing", path=_PKG_DIR / "pricing")


_shipped: PricingTable | None = None
_shipped_lock = threading.Lock()


def load_pricing(*paths: str | Path) -> PricingTable:
    """Load and validate pricing files, later ones overriding earlier ones per model.

    With no path, the shipped table (parsed once per process).
    """
    global _shipped
    if paths:
        return _build(paths)
    table = _shipped
    if table is None:
        with _shipped_lock:
            table = _shipped
            if table is None:
                table = _shipped = _build(shipped_pricing_paths())
    return table


def validate_files(paths: Sequence[str | Path]) -> list[PricingFileError]:
    """Every problem in the given files (each checked alone, then layered)."""
    problems: list[PricingFileError] = []
    for path in paths:
        try:
            _validate_file(str(path))
        except PricingFileError as exc:
            problems.append(exc)
            problems.extend(exc.others)
    if not problems:
        try:
            _build(paths)
        except PricingFileError as exc:
            problems.append(exc)
    return problems

