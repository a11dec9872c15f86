"""Merging imported prices into a table rate by rate, without rewriting history.

Azure changes prices one meter at a time, so the merge works per rate: an
imported rate that differs from the table's period in force on its date opens
a new period from that date, carrying the other rates over from the period in
force; an equal rate changes nothing; a different rate dated on or before the
series' last period is reported as not merged. New models and series are added
whole.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from pydantic import ValidationError

from ._deployment_types import DeploymentType
from ._diff import in_force
from ._schema import (
    ModelEntry,
    PricePeriod,
    PriceSeries,
    PricingFile,
    Source,
    all_rates,
    rate_of,
    with_rates,
)
from ._writer import series_sort_key

__all__ = [
    "DatedRates",
    "MergeResult",
    "SeriesKey",
    "agrees_from_start",
    "bump_version",
    "merge_import",
]

SeriesKey = tuple[str, DeploymentType, "str | None"]
"""A series: model, deployment type, region (None for the region-less one)."""


@dataclass(frozen=True)
class DatedRates:
    """Rates read for one series from one date on: some rate fields, not necessarily all."""

    effective_from: dt.date
    """First day the rates apply."""
    rates: Mapping[str, Decimal]
    """Rate key (``input_per_mtok``, a tier's ``priority.input_per_mtok``) -> USD per 1M tokens."""
    source: str
    """Source id (of the imported file) the rates were read from."""
    note: str | None = None
    """Where the rates came from (meter names)."""


@dataclass
class MergeResult:
    """The merged table and what the merge did."""

    file: PricingFile
    """The table with the imported rates merged."""
    appended: int = 0
    """Periods opened in existing series."""
    unchanged: int = 0
    """Imported rates equal to the table's in force on their date."""
    skipped: list[str] = field(default_factory=list)
    """Imported rates left out because they would rewrite history, with the reason."""


def bump_version(old: str, today: dt.date) -> str:
    """Today's ``YYYY.MM.DD``, or the old version plus ``.N`` when it is not older than today."""
    day = today.strftime("%Y.%m.%d")
    m = re.match(r"(\d{4}\.\d{2}\.\d{2})(?:\.(\d+))?", old)
    if m is None or m.group(1) < day:
        return day
    return f"{m.group(1)}.{int(m.group(2) or 0) + 1}"


def _insert_after_siblings(
    models: dict[str, ModelEntry], name: str, entry: ModelEntry
) -> dict[str, ModelEntry]:
    names = list(models)
    siblings = [i for i, n in enumerate(names) if models[n].base == entry.base]
    at = siblings[-1] + 1 if siblings else len(names)
    names.insert(at, name)
    models = {**models, name: entry}
    return {n: models[n] for n in names}


def agrees_from_start(regional: PriceSeries, base: PriceSeries) -> bool:
    """Whether ``base`` has the same rates as ``regional`` on every day from its first on."""
    start = regional.periods[0].effective_from
    days = {p.effective_from for p in regional.periods}
    days |= {p.effective_from for p in base.periods if p.effective_from >= start}
    for day in days:
        ours, theirs = in_force(regional.periods, day), in_force(base.periods, day)
        if ours is None or theirs is None or _rate_values(ours) != _rate_values(theirs):
            return False
    return True


def _rate_values(period: PricePeriod) -> dict[str, Decimal | None]:
    return all_rates(period)


def _as_dated(series: PriceSeries) -> list[DatedRates]:
    return [
        DatedRates(
            p.effective_from,
            {f: v for f, v in all_rates(p).items() if v is not None},
            p.source,
            p.note,
        )
        for p in series.periods
    ]


def _carried_note(new: DatedRates, changed: list[str], base: PricePeriod) -> str:
    text = f"{', '.join(changed)} changed"
    if new.note:
        text += f" ({new.note})"
    kept = [f for f, v in all_rates(base).items() if f not in changed and v is not None]
    if kept:
        text += f"; {', '.join(kept)} carried over from the period of {base.effective_from}"
    return text


def _by_day(updates: list[DatedRates]) -> list[DatedRates]:
    """The updates of one day as one (a page holding several meters of a series), oldest first."""
    days: dict[dt.date, DatedRates] = {}
    for u in sorted(updates, key=lambda u: u.effective_from):
        seen = days.get(u.effective_from)
        if seen is None:
            days[u.effective_from] = u
            continue
        note = "; ".join(dict.fromkeys(n for n in (seen.note, u.note) if n)) or None
        days[u.effective_from] = DatedRates(
            u.effective_from, {**seen.rates, **u.rates}, seen.source, note
        )
    return list(days.values())


def merge_series(
    where: str, old: PriceSeries, updates: list[DatedRates], result: MergeResult
) -> PriceSeries:
    """``old`` with a period opened for each dated rate change after its last period."""
    periods = list(old.periods)
    for new in _by_day(updates):
        # a rate dated before the series begins (Azure dates a meter from the 1st of the
        # month, the table from the version's release) is compared with the first period
        base = in_force(periods, new.effective_from) or periods[0]
        changed = [f for f, v in new.rates.items() if rate_of(base, f) != v]
        result.unchanged += len(new.rates) - len(changed)
        if not changed:
            continue
        last = periods[-1]
        if new.effective_from <= last.effective_from:
            result.skipped.append(
                f"{where} from {new.effective_from}: {', '.join(changed)} differ from the "
                f"period in force ({base.effective_from}) but do not start after the last "
                f"period ({last.effective_from}); history is never rewritten"
            )
            continue
        try:
            period = with_rates(
                base,
                {f: new.rates[f] for f in changed},
                effective_from=new.effective_from,
                source=new.source,
                note=_carried_note(new, changed, base),
            )
        except ValidationError:  # a tier's rate where the period has no rates of that tier
            result.skipped.append(
                f"{where} from {new.effective_from}: {', '.join(changed)} would start a service "
                "tier without its input rate; import the tier's meters together"
            )
            continue
        periods.append(period)
        result.appended += 1
    return old.model_copy(update={"periods": periods})


def _source_ids(
    table: PricingFile, imported: PricingFile
) -> tuple[dict[str, Source], dict[str, str]]:
    sources: dict[str, Source] = dict(table.sources)
    ids: dict[str, str] = {}
    for sid, src in imported.sources.items():
        new_id, n = sid, 1
        while new_id in sources and sources[new_id] != src:
            n += 1
            new_id = f"{sid}-{n}"
        sources[new_id] = src
        ids[sid] = new_id
    return sources, ids


def merge_import(
    table: PricingFile,
    imported: PricingFile,
    *,
    partial: Mapping[SeriesKey, list[DatedRates]] | None = None,
    today: dt.date | None = None,
) -> MergeResult:
    """Merge imported prices into ``table`` rate by rate; add new models and series whole.

    ``partial`` holds rates of series the import could not complete (a page
    with one meter); they are merged into the table's existing series only.
    """
    today = today or dt.datetime.now(dt.timezone.utc).date()
    sources, ids = _source_ids(table, imported)
    result = MergeResult(table)
    updates: dict[SeriesKey, list[DatedRates]] = {}
    for name, entry in imported.models.items():
        for s in entry.prices:
            updates[(name, s.deployment_type, s.region)] = _as_dated(s)
    for key, dated in (partial or {}).items():
        updates.setdefault(key, []).extend(dated)
    models = dict(table.models)
    for name, added in imported.models.items():
        if name not in models:
            models = _insert_after_siblings(models, name, _with_sources(added, ids))
    for key, dated in updates.items():
        name, dtype, region = key
        if name not in table.models:
            continue
        dated = [
            DatedRates(d.effective_from, d.rates, ids.get(d.source, d.source), d.note)
            for d in dated
        ]
        entry = models[name]
        new_entry: ModelEntry | None = imported.models.get(name)
        series = {(s.deployment_type, s.region): s for s in entry.prices}
        old = series.get((dtype, region))
        if old is not None:
            where = f"{name} {dtype.value}" + (f"@{region}" if region else "")
            series[(dtype, region)] = merge_series(where, old, dated, result)
        elif new_entry is not None:
            whole = [
                s for s in new_entry.prices if (s.deployment_type, s.region) == (dtype, region)
            ]
            base = series.get((dtype, None))
            if region is not None and base is not None and agrees_from_start(whole[0], base):
                result.unchanged += 1  # the region pays the region-less series' rates
                continue
            series[(dtype, region)] = _series_with_sources(whole[0], ids)
        else:
            continue
        prices = sorted(series.values(), key=series_sort_key)
        models[name] = entry.model_copy(update={"prices": prices})
    used = {p.source for e in models.values() for s in e.prices for p in s.periods}
    sources = {k: v for k, v in sources.items() if k in table.sources or k in used}
    update = {"version": bump_version(table.version, today), "sources": sources, "models": models}
    result.file = table.model_copy(update=update)
    return result


def _series_with_sources(series: PriceSeries, ids: Mapping[str, str]) -> PriceSeries:
    periods = [p.model_copy(update={"source": ids.get(p.source, p.source)}) for p in series.periods]
    return series.model_copy(update={"periods": periods})


def _with_sources(entry: ModelEntry, ids: Mapping[str, str]) -> ModelEntry:
    return entry.model_copy(update={"prices": [_series_with_sources(s, ids) for s in entry.prices]})
