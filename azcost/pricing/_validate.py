"""Validating a pricing file: the pydantic schema, then the rules a schema cannot express.

Canonical model keys, alias collisions, one default version per base, one series per
deployment type and region, increasing effective dates, declared sources, an output
rate for every model but embeddings. Every problem is located by file, line, model
and field. pydantic and YAML are imported on first use: a cached load needs neither.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from ..errors import PricingFileError
from ._deployment_types import DeploymentType
from ._kinds import KINDS, RATE_FIELDS
from ._records import CompiledFile, ModelInfo, Period, SeriesInfo, SourceInfo

if TYPE_CHECKING:
    from pydantic import ValidationError

    from ._schema import ModelEntry, PricePeriod, PriceSeries, PricingFile, TierRates
    from ._yaml import Positions

__all__ = ["compile_parsed", "located", "validate_text"]

_Fail = Callable[[tuple[Any, ...], str], None]


def _problem_from_validation(
    exc: ValidationError, path: str, positions: Positions
) -> PricingFileError:
    from ._schema import describe_error

    errors = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        errors.append(
            located(path, positions, loc, describe_error(err, "not in the pricing schema; a typo?"))
        )
    first = errors[0]
    if len(errors) > 1:
        first.others = errors[1:]
    return first


def located(
    path: str, positions: Positions, loc: tuple[Any, ...], problem: str
) -> PricingFileError:
    """A problem at ``loc`` (keys and indexes) of a file, with its line, model and field."""
    from ._yaml import line_for  # error path only: a cached load imports no YAML

    line = line_for(positions, loc)
    model = str(loc[1]) if len(loc) > 1 and loc[0] == "models" else None
    strs = [p for p in loc if isinstance(p, str)]
    field = strs[-1] if strs and not (model is not None and len(strs) == 2) else None
    if len(loc) == 1:
        field = str(loc[0])
    return PricingFileError(problem, path=path, line=line, model=model, field=field)


def _check_names(f: PricingFile, fail: _Fail) -> None:
    """Canonical keys, alias collisions, one default version per base."""
    names: dict[str, str] = {name: name for name in f.models}
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


def _check_periods(
    f: PricingFile, entry: ModelEntry, series: PriceSeries, s: tuple[Any, ...], fail: _Fail
) -> None:
    """Increasing effective dates, declared sources, an output rate where one is needed."""
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
        for tier, rates in (period.service_tiers or {}).items():
            if entry.kind != "embedding" and not _sells_output(rates):
                where = (*p, "service_tiers", tier, "output_per_mtok")
                fail(where, f"a {entry.kind} model needs an output rate on the {tier} tier")


def _sells_output(period: PricePeriod | TierRates) -> bool:
    """A rate for some output kind: text, or audio or image for models that output only those."""
    return any(getattr(period, k.rate_field) is not None for k in KINDS if k.side == "output")


def _check_series(f: PricingFile, fail: _Fail) -> None:
    """One series per deployment type and region, and a region-less default one."""
    for name, entry in f.models.items():
        m = ("models", name)
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
            _check_periods(f, entry, series, s, fail)
        if (entry.default_deployment_type, None) not in seen:
            fail(
                (*m, "default_deployment_type"),
                f"no region-less {entry.default_deployment_type.value} series to default to",
            )


def _semantic_checks(f: PricingFile, path: str, positions: Positions) -> list[PricingFileError]:
    problems: list[PricingFileError] = []

    def fail(loc: tuple[Any, ...], problem: str) -> None:
        problems.append(located(path, positions, loc, problem))

    _check_names(f, fail)
    _check_series(f, fail)
    return problems


def validate_text(path: str, text: str) -> tuple[PricingFile, Positions]:
    from pydantic import ValidationError

    from ._schema import PricingFile
    from ._yaml import load_yaml

    data, positions = load_yaml(path, text, lines=False)  # lines only to locate a problem
    if not isinstance(data, dict):
        raise PricingFileError(
            "a pricing file must be a mapping at the top level", path=path, line=1
        )
    try:
        parsed = PricingFile.model_validate(data)
    except ValidationError as exc:
        positions = load_yaml(path, text)[1]
        raise _problem_from_validation(exc, path, positions) from None
    problems = _semantic_checks(parsed, path, positions)
    if problems:
        positions = load_yaml(path, text)[1]
        problems = _semantic_checks(parsed, path, positions)
        first = problems[0]
        first.others = problems[1:]
        raise first
    return parsed, positions


_rates_of = attrgetter(*RATE_FIELDS)  # a period's (or a tier's) rates, in KINDS order


def _period(p: PricePeriod, sources: dict[str, SourceInfo]) -> Period:
    tiers = p.service_tiers
    return Period(
        p.effective_from,
        _rates_of(p),
        sources[p.source],
        p.note,
        tuple((tier, _rates_of(r)) for tier, r in tiers.items()) if tiers else (),
    )


def compile_parsed(parsed: PricingFile, path: str) -> CompiledFile:
    """The run-time records of a validated file."""
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
                tuple(_period(p, sources) for p in s.periods),
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
