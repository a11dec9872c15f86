"""Pricing tables at run time: layering, rate lookup by date, and ``cost()``.

Nothing here imports pydantic: validation lives in :mod:`azcost.pricing._load`, which
compiles each file into the records of :mod:`azcost.pricing._records` (and caches
them), so a process that only prices calls does not pay for the schema machinery.
"""

from __future__ import annotations

import bisect
import datetime as dt
import time
from collections.abc import Iterator, Mapping, Sequence

from ..errors import NoPriceError
from ._cost import EXACT, NO_DETAILS, Cost, Rates, priced_total
from ._deployment_types import DeploymentType, deployment_type_order, parse_deployment_type
from ._kinds import RATE_FIELDS
from ._records import CompiledFile, ModelInfo, Period, SeriesInfo, SourceInfo
from ._resolve import NameIndex, Resolution
from ._tiers import STANDARD_NAMES

__all__ = [
    "RATE_FIELDS",
    "CompiledFile",
    "Cost",
    "ModelInfo",
    "Period",
    "PricingTable",
    "Rates",
    "SeriesInfo",
    "SourceInfo",
]

_FAR_FUTURE = float("inf")
_LOOKUPS_MAX = 4096  # series lookups kept by cost()
_new = object.__new__  # a Cost filled in place: no __init__ call
_mul = EXACT.multiply


def _epoch(day: dt.date) -> float:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc).timestamp()


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
        return sorted({s.deployment_type for s in info.prices}, key=deployment_type_order)

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
        service_tier: str | None = None,
    ) -> Rates:
        """The rates in force for a model, deployment type, region and tier (default: now).

        ``service_tier`` None, ``default``, ``standard`` or ``auto`` gives the period's own
        rates; another tier (``priority``) its rates, or :class:`NoPriceError` where the
        period has none.
        """
        series, _ = self._find_series(model, model_version, deployment_type, region)
        rates = series.at(_when(at))
        if service_tier is not None and service_tier not in STANDARD_NAMES:
            rates = rates.on_tier(service_tier)
        return rates

    def cost(
        self,
        model: str,
        *,
        input_tokens: int,
        output_tokens: int,
        reasoning_tokens: int = 0,
        model_version: str | None = None,
        deployment_type: str | DeploymentType | None = None,
        region: str | None = None,
        at: dt.datetime | dt.date | None = None,
        service_tier: str | None = None,
        **details: int,
    ) -> Cost:
        """Exact cost of one call.

        ``input_tokens``/``output_tokens`` count every token of their side; parts billed at
        their own rate go by token field (``cached_input_tokens``... one per kind of
        :data:`azcost.pricing.KINDS`). Tokens of a kind, or a ``service_tier`` (``priority``),
        with no rate in force raise :class:`NoPriceError`: never another kind's or tier's rate.
        """
        key = (model, model_version, deployment_type, region)
        found = self._lookup_cache.get(key)
        if found is None:
            found = self._find_series(model, model_version, deployment_type, region)
            if len(self._lookup_cache) < _LOOKUPS_MAX:
                self._lookup_cache[key] = found
        series, resolution = found
        when = time.time() if at is None else _when(at)
        rates = series.cur
        if rates is None or not series.cur_lo <= when < series.cur_hi:
            rates = series.at(when)
        if service_tier is not None and service_tier not in STANDARD_NAMES:
            rates = rates.on_tier(service_tier)
        units = rates.text_units
        if (
            reasoning_tokens
            or units is None
            or type(input_tokens) is not int
            or type(output_tokens) is not int
            or input_tokens < 0
            or output_tokens < 0
            or (details and any(details.values()))  # parts that are all 0 change nothing
        ):
            total = priced_total(rates, input_tokens, output_tokens, reasoning_tokens, details)
            parts = details or NO_DETAILS
        else:  # text tokens only: one exact multiplication (see Rates.text_units)
            total = _mul(input_tokens * units[0] + output_tokens * units[1], units[2])
            parts = NO_DETAILS
        result = _new(Cost)
        result.total = total
        result.model = rates.model
        result.rates = rates
        result.resolution = resolution
        result.table_version, result.currency = self.version, self.currency
        result.input_tokens = input_tokens
        result.output_tokens = output_tokens
        result.reasoning_tokens = reasoning_tokens
        result.details = parts
        return result
