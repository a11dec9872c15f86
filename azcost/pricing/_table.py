"""Pricing tables at run time: the compiled models, layering and exact cost.

Nothing here imports pydantic: validation lives in :mod:`azcost._load`, which
compiles each file into the immutable records below (and caches them), so a
process that only prices calls does not pay for the schema machinery.
"""

from __future__ import annotations

import bisect
import datetime as dt
import time
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any, NamedTuple

from ..errors import InvalidUsageError, NoPriceError
from ._deployment_types import DeploymentType, parse_deployment_type
from ._money import money_str
from ._resolve import NameIndex, Resolution

__all__ = [
    "CompiledFile",
    "Cost",
    "ModelInfo",
    "Period",
    "PricingTable",
    "Rates",
    "SeriesInfo",
    "SourceInfo",
]

RATE_FIELDS = (
    "input_per_mtok",
    "cached_input_per_mtok",
    "output_per_mtok",
    "audio_input_per_mtok",
    "audio_output_per_mtok",
)
"""The rate fields of a price period, in file order."""

_PER_TOKEN = -6  # rates are per 1M tokens: scaleb(-6) is exact
_ZERO = Decimal(0)
_FAR_FUTURE = float("inf")


def _epoch(day: dt.date) -> float:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc).timestamp()


class SourceInfo(NamedTuple):
    """A public source of prices and the date its figures were read."""

    id: str
    """Id of the source in its file."""
    title: str
    """What the source is."""
    url: str
    """Where to find it."""
    retrieved_on: dt.date
    """When the figures were read."""
    note: str | None = None
    """Anything a reader must know about it."""


class Period(NamedTuple):
    """Rates per 1M tokens in force from ``effective_from`` until the next period."""

    effective_from: dt.date
    """First day (UTC) these rates apply."""
    input_per_mtok: Decimal
    """Uncached input rate."""
    cached_input_per_mtok: Decimal | None
    """Cached input rate; None means the input rate."""
    output_per_mtok: Decimal | None
    """Output rate (reasoning included); None for embeddings."""
    audio_input_per_mtok: Decimal | None
    """Audio input rate, where sold."""
    audio_output_per_mtok: Decimal | None
    """Audio output rate, where sold."""
    source: SourceInfo
    """Where the figures come from."""
    note: str | None = None
    """How the figures were derived, when not read directly."""

    @property
    def source_id(self) -> str:
        """Id of the source in its file."""
        return self.source.id


class SeriesInfo(NamedTuple):
    """The price history of one model for one deployment type (and region)."""

    deployment_type: DeploymentType
    """Deployment type priced."""
    region: str | None
    """Region where prices differ, or None for all."""
    periods: tuple[Period, ...]
    """Periods, oldest first."""


class ModelInfo(NamedTuple):
    """One model version of a pricing table."""

    name: str
    """Canonical name ``base-version``."""
    base: str
    """Azure's model name without version."""
    version: str
    """Azure's model version."""
    kind: str
    """chat, completion, reasoning, embedding or audio."""
    display_name: str | None
    """A human name."""
    aliases: tuple[str, ...]
    """Other spellings of this version."""
    default_for_base: bool
    """The bare base name resolves to this version."""
    default_deployment_type: DeploymentType
    """Deployment type used when none is named."""
    retired_on: dt.date | None
    """When Azure retired it."""
    prices: tuple[SeriesInfo, ...]
    """Price series per deployment type (and region)."""
    file: str
    """Path of the file the entry came from."""
    note: str | None = None
    """Why the entry is as it is."""


class CompiledFile(NamedTuple):
    """One validated pricing file, ready for layering."""

    path: str
    """Where it was read from."""
    version: str
    """The file's table version."""
    currency: str
    """Currency of its prices."""
    description: str | None
    """What the table is for."""
    sources: Mapping[str, SourceInfo]
    """Sources by id."""
    models: Mapping[str, ModelInfo]
    """Models by canonical name."""


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
        period: Period,
    ) -> None:
        self.model = model
        self.deployment_type = deployment_type
        self.region = region
        self.period = period
        self.source = period.source
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
    """Exact total cost."""
    rates: Rates
    """The rates used, with their period and source."""
    resolution: Resolution
    """How the model name was resolved."""
    table_version: str
    """Version of the pricing table."""
    currency: str
    """Currency of the amounts."""
    input_tokens: int
    """Input tokens, cached and audio included."""
    cached_input_tokens: int
    """Cached input tokens."""
    output_tokens: int
    """Output tokens, reasoning and audio included."""
    reasoning_tokens: int
    """Reasoning tokens (billed as output)."""
    audio_input_tokens: int
    """Audio input tokens."""
    audio_output_tokens: int
    """Audio output tokens."""

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
    def period(self) -> Period:
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

    def amounts(self) -> tuple[Decimal, Decimal, Decimal, Decimal, Decimal]:
        """All per-kind costs at once: input, cached input, output, audio input, audio output."""
        rates = self.rates
        cached = self.cached_input_tokens
        audio_in = self.audio_input_tokens
        audio_out = self.audio_output_tokens
        return (
            (self.input_tokens - cached - audio_in) * rates.input,
            cached * rates.cached_input,
            (self.output_tokens - audio_out) * rates.output,
            audio_in * rates.audio_input,
            audio_out * rates.audio_output,
        )

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
            "source": period.source.id,
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

    def __init__(self, files: Sequence[CompiledFile]) -> None:
        if not files:
            raise ValueError("a pricing table needs at least one file")
        self.files = tuple(files)
        """Compiled files, in layering order (later files override earlier ones per model)."""
        self.paths = tuple(f.path for f in files)
        """Paths of the files, in layering order."""
        self.version = "+".join(f.version for f in files)
        """Version of the table: the file versions joined with '+'."""
        self.currency = files[0].currency
        """Currency of every price."""
        models: dict[str, ModelInfo] = {}
        for f in files:
            models.update(f.models)
        self.models: Mapping[str, ModelInfo] = dict(sorted(models.items()))
        """Model versions by canonical name."""
        aliases: dict[str, str] = {}
        bases: dict[str, str] = {}
        self._series: dict[tuple[str, DeploymentType, str | None], _Series] = {}
        for name, info in self.models.items():
            for alias in info.aliases:
                aliases[alias] = name
            if info.default_for_base:
                bases[info.base] = name
            for series in info.prices:
                rates = [
                    Rates(name, series.deployment_type, series.region, p) for p in series.periods
                ]
                self._series[(name, series.deployment_type, series.region)] = _Series(name, rates)
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
        info = self.models[self.names.resolve(model).model]
        return sorted({s.deployment_type for s in info.prices}, key=list(DeploymentType).index)

    def _find_series(
        self,
        model: str,
        model_version: str | None,
        deployment_type: str | DeploymentType | None,
        region: str | None,
    ) -> tuple[_Series, Resolution]:
        resolution = self.names.resolve(model, model_version)
        name = resolution.model
        dtype = (
            self.models[name].default_deployment_type
            if deployment_type is None
            else parse_deployment_type(deployment_type)
        )
        reg = region.strip().lower().replace(" ", "") if region else None
        series = self._series.get((name, dtype, reg)) if reg else None
        if series is None:
            series = self._series.get((name, dtype, None))
        if series is None:
            offered = ", ".join(t.value for t in self.deployment_types(name))
            raise NoPriceError(name, f"no {dtype.value} price in the table (priced: {offered})")
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
