"""Importing Azure Retail Prices API responses into a pricing file.

Saved API pages (``{"Items": [...], "NextPageLink": ...}``) are read with every
number as a ``Decimal``; each row is kept only if it is a pay-as-you-go
(``Consumption``) Azure OpenAI token meter that :mod:`azcost._meters` can read
and whose model version the current table can tell. Everything else is
reported as skipped with the reason. Prices quoted per 1K tokens are multiplied
by 1000 exactly. The result is a :class:`~azcost._schema.PricingFile` whose
periods start on the rows' ``effectiveStartDate``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from ..errors import RetailImportError
from ..pricing._cost import EXACT
from ..pricing._deployment_types import DeploymentType, deployment_type_order
from ..pricing._kinds import KINDS
from ..pricing._merge import DatedRates, SeriesKey
from ..pricing._schema import ModelEntry, PricePeriod, PriceSeries, PricingFile, period_of
from ..pricing._tiers import TIER_NAMES, split_tier_key, tier_key
from ._entries import API_URL, drop_same_as_base, entries_of, pricing_file
from ._meters import MeterSkipped, parse_meter
from ._pages import RetailRow
from ._versions import Target, resolve_meter

__all__ = ["API_URL", "ImportResult", "Skipped", "import_rows"]

_GLOBAL_TYPES = {DeploymentType.GLOBAL, DeploymentType.GLOBAL_BATCH}
_UNITS = {
    "1k": Decimal(1000),
    "1k tokens": Decimal(1000),
    "1m": Decimal(1),
    "1m tokens": Decimal(1),
}
_FIELD_OF: dict[str, str] = {k.name: k.rate_field for k in KINDS}
_FIELD_OF.update(
    {tier_key(t, k.name): tier_key(t, k.rate_field) for t in TIER_NAMES for k in KINDS}
)
# a rate key's place in a period: the standard fields in file order, then each tier's
_KEY_ORDER = {f: i for i, f in enumerate(_FIELD_OF.values())}
_OUTPUT_SIDE = [k.rate_field for k in KINDS if k.side == "output" and not k.is_total]


@dataclass(frozen=True)
class Skipped:
    """A meter the import left out, and why."""

    meter_name: str
    """``meterName``."""
    product_name: str
    """``productName``."""
    reason: str
    """Why it was not imported."""
    rows: int = 1
    """How many rows (regions, dates) carried this meter and reason."""


@dataclass
class ImportResult:
    """A pricing file built from retail rows, with what was left out."""

    file: PricingFile
    """The imported prices, as a valid pricing file."""
    skipped: list[Skipped]
    """Meters left out, with the reason, one entry per meter and reason."""
    warnings: list[str] = field(default_factory=list)
    """Things a maintainer should look at (conflicting duplicate rows, missing pages)."""
    rows_read: int = 0
    """Rows read from the pages."""
    rows_used: int = 0
    """Rows whose price is in the file (or in ``partial``)."""
    partial: dict[SeriesKey, list[DatedRates]] = field(default_factory=dict)
    """Dated rates of existing series the rows could not complete, to merge rate by rate."""


# --------------------------------------------------------------------------- importing


@dataclass(frozen=True)
class _Quote:
    price: Decimal  # per 1M tokens
    start: dt.date
    region: str
    row: RetailRow


class _Collector:
    def __init__(self, existing: Collection[SeriesKey]) -> None:
        self.skips: dict[tuple[str, str, str], int] = defaultdict(int)
        self.warnings: list[str] = []
        self.existing = existing
        self.partial: dict[SeriesKey, list[DatedRates]] = {}

    def skip(self, row: RetailRow, reason: str) -> None:
        self.skips[(row.meter_name, row.product_name, reason)] += 1

    def skipped(self) -> list[Skipped]:
        return [
            Skipped(meter, product, reason, rows)
            for (meter, product, reason), rows in sorted(self.skips.items())
        ]


def _per_mtok(price: Decimal, multiplier: Decimal) -> Decimal:
    value = EXACT.normalize(EXACT.multiply(price, multiplier))  # exact, whatever the context
    if value.as_tuple().exponent > -2:  # type: ignore[operator]  # finite: checked on read
        value = EXACT.quantize(value, Decimal("0.01"))
    return value


def _one_price(
    quotes: list[_Quote], base_region: str, global_type: bool, col: _Collector
) -> list[_Quote] | None:
    """One quote per start date; None when duplicates disagree and none can be preferred."""
    by_day: dict[dt.date, list[_Quote]] = defaultdict(list)
    for q in quotes:
        by_day[q.start].append(q)
    chosen = []
    for day in sorted(by_day):
        group = by_day[day]
        prices = {q.price for q in group}
        if len(prices) == 1:
            chosen.append(group[0])
            continue
        listing = "; ".join(
            f"{p} per 1M in {', '.join(sorted({q.region or '-' for q in group if q.price == p}))}"
            for p in sorted(prices)
        )
        preferred = [q for q in group if q.region == base_region]
        if global_type and len({q.price for q in preferred}) == 1:
            chosen.append(preferred[0])
            col.warnings.append(
                f"meter {group[0].row.meter_name!r} from {day}: conflicting duplicate rows "
                f"({listing}); took {base_region}'s"
            )
            continue
        for q in group:
            col.skip(q.row, f"conflicting duplicate rows from {day}: {listing}")
        return None
    return chosen


def _read_row(
    row: RetailRow,
    table: Mapping[str, ModelEntry],
    col: _Collector,
    currency: str,
    region: str,
    all_regions: bool,
) -> tuple[Target, SeriesKey, str, _Quote] | None:
    """One row's quote, the series it prices and its kind (``priority.input`` on a tier)."""
    if row.currency != currency:
        raise RetailImportError(
            f"{row.where()}: currencyCode {row.currency!r}, expected {currency!r} (--currency)"
        )
    if row.price_type != "Consumption":
        col.skip(
            row, f"price type {row.price_type!r}: only Consumption (pay-as-you-go) is imported"
        )
        return None
    if not row.product_name.lower().startswith("azure openai"):
        col.skip(row, f"not an Azure OpenAI product (productName {row.product_name!r})")
        return None
    try:
        meter = parse_meter(row.meter_name)
        multiplier = _UNITS.get(row.unit.strip().lower())
        if multiplier is None:
            raise MeterSkipped(f"unit {row.unit!r} is not per 1K or 1M tokens")
        if row.tier_minimum:
            raise MeterSkipped(f"tiered price from {row.tier_minimum} units")
        if not row.price:
            raise MeterSkipped("zero price")
        target = resolve_meter(meter, table)
    except MeterSkipped as exc:
        col.skip(row, exc.reason)
        return None
    dtype = meter.deployment_type
    if dtype in _GLOBAL_TYPES or row.region == region:
        series_region = None
    elif all_regions and re.fullmatch(r"[a-z0-9]+", row.region):
        series_region = row.region
    else:
        return None  # another region's regional or data-zone price
    quote = _Quote(_per_mtok(row.price, multiplier), row.start, row.region, row)
    kind = meter.kind if meter.service_tier is None else tier_key(meter.service_tier, meter.kind)
    return target, (target.model, dtype, series_region), kind, quote


def import_rows(
    rows: Iterable[RetailRow],
    table: Mapping[str, ModelEntry],
    *,
    region: str = "eastus",
    currency: str = "USD",
    all_regions: bool = False,
    retrieved_on: dt.date | None = None,
    source_id: str | None = None,
    source_note: str | None = None,
    existing: Collection[SeriesKey] = (),
) -> ImportResult:
    """Turn retail rows into a pricing file, resolving versions against ``table``'s models.

    A series of ``existing`` (the table being updated) whose meters do not give
    every required rate (a page holding one meter) is returned in
    ``ImportResult.partial`` as dated rates to merge, instead of being skipped.
    """
    region = region.strip().lower()
    retrieved_on = retrieved_on or dt.datetime.now(dt.timezone.utc).date()
    source_id = source_id or f"azure-retail-{retrieved_on.isoformat()}"
    col = _Collector(existing)
    quotes: dict[SeriesKey, dict[str, list[_Quote]]] = defaultdict(lambda: defaultdict(list))
    targets: dict[str, Target] = {}
    n_read = 0
    for row in rows:
        n_read += 1
        found = _read_row(row, table, col, currency, region, all_regions)
        if found is not None:
            target, key, kind, quote = found
            targets[target.model] = target
            quotes[key][kind].append(quote)

    series: dict[str, list[PriceSeries]] = defaultdict(list)
    used = 0
    for key in sorted(quotes, key=lambda k: (k[0], deployment_type_order(k[1]), k[2] or "")):
        model, dtype, series_region = key
        built = _build_series(key, quotes[key], targets[model], region, source_id, col)
        if built is not None:
            periods, n_rows = built
            used += n_rows
            if not periods:
                continue  # rates of an existing series the import could not complete
            series[model].append(
                PriceSeries(deployment_type=dtype, region=series_region, periods=periods)
            )
    if all_regions:
        drop_same_as_base(series)
    models = entries_of(series, targets, table, {key[0] for key in existing})
    pf = pricing_file(models, currency, region, retrieved_on, source_id, source_note)
    return ImportResult(pf, col.skipped(), col.warnings, n_read, used, col.partial)


def _build_series(
    key: SeriesKey,
    by_kind: dict[str, list[_Quote]],
    target: Target,
    base_region: str,
    source_id: str,
    col: _Collector,
) -> tuple[list[PricePeriod], int] | None:
    """One series' periods and the rows they use; None (rows skipped with why) when not whole."""
    model, dtype, series_region = key
    if "flat" in by_kind and ("input" in by_kind or "output" in by_kind):
        for q in by_kind.pop("flat"):
            col.skip(q.row, "one flat rate alongside separate input/output meters")
    fields: dict[str, list[_Quote]] = {}
    for kind, qs in by_kind.items():
        chosen = _one_price(qs, base_region, dtype in _GLOBAL_TYPES, col)
        if chosen is None:
            return None
        if kind == "flat":
            fields["input_per_mtok"] = chosen
            if target.kind != "embedding":
                fields["output_per_mtok"] = chosen
        else:
            fields[_FIELD_OF[kind]] = chosen
    needed = ["input_per_mtok", *_output_needed(target, fields)]
    missing = [f for f in needed if f not in fields]
    where = series_region or ("" if dtype in _GLOBAL_TYPES else base_region)
    if missing and key in col.existing:
        col.partial[key] = [
            DatedRates(q.start, {f: q.price}, source_id, _note({f: q}, target, where))
            for f, qs in fields.items()
            for q in qs
        ]
        return [], sum(len(qs) for qs in fields.values())
    if missing:
        names = " or ".join(m.split("_per")[0] for m in missing)
        reason = f"{model} {dtype.value}: no {names} meter"
        for qs in by_kind.values():
            for q in qs:
                col.skip(q.row, reason)
        return None
    _drop_incomplete_tiers(fields, target, f"{model} {dtype.value}", col)
    periods = _periods(fields, needed, target, where, source_id)
    n_rows = sum(len(qs) for qs in fields.values())
    return periods, n_rows


def _periods(
    fields: Mapping[str, list[_Quote]],
    needed: list[str],
    target: Target,
    where: str,
    source_id: str,
) -> list[PricePeriod]:
    """One period per day the rates change, from the first day every needed rate is quoted."""
    periods: list[PricePeriod] = []
    previous: dict[str, Decimal] | None = None
    days = sorted({q.start for qs in fields.values() for q in qs})
    for day in days:
        in_force = {f: [q for q in qs if q.start <= day] for f, qs in fields.items()}
        current = {f: qs[-1] for f, qs in in_force.items() if qs}
        if any(f not in current for f in needed):
            continue
        rates = {f: q.price for f, q in current.items()}
        if rates == previous:
            continue
        previous = rates
        periods.append(
            period_of(
                rates, effective_from=day, source=source_id, note=_note(current, target, where)
            )
        )
    return periods


def _drop_incomplete_tiers(
    fields: dict[str, list[_Quote]], target: Target, where: str, col: _Collector
) -> None:
    """Skip the meters of a service tier that has no input rate, or no output rate it needs."""
    for tier in TIER_NAMES:
        mine = {f: qs for f, qs in fields.items() if split_tier_key(f)[0] == tier}
        plain = {split_tier_key(f)[1]: qs for f, qs in mine.items()}
        needed = ["input_per_mtok", *_output_needed(target, plain)]
        missing = [f.split("_per")[0] for f in needed if f not in plain]
        if mine and missing:
            for f, qs in mine.items():
                del fields[f]
                for q in qs:
                    col.skip(q.row, f"{where} {tier} tier: no {' or '.join(missing)} meter")


def _output_needed(target: Target, fields: Mapping[str, object]) -> list[str]:
    """Output rates a series needs: text output, or the audio/image output a model sells instead."""
    if target.kind == "embedding":
        return []
    if "output_per_mtok" in fields:
        return ["output_per_mtok"]
    others = [f for f in _OUTPUT_SIDE if f in fields]
    return others or ["output_per_mtok"]


def _note(current: Mapping[str, _Quote], target: Target, region: str) -> str:
    meters: list[tuple[str, str]] = []
    for f in sorted(current, key=_KEY_ORDER.__getitem__):
        q = current[f]
        if q.row.meter_name not in [m[0] for m in meters]:
            meters.append((q.row.meter_name, f"{q.row.price}/{q.row.unit.split()[0]}"))
    text = "retail meters " + ", ".join(f"'{m}' {p}" for m, p in meters)
    if region:
        text += f" ({region})"
    if target.note:
        text += f"; {target.note}"
    return text
