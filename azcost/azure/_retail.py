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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from .._input import loads_json, read_text
from ..errors import InputFileError, RetailImportError
from ..pricing._deployment_types import DeploymentType
from ..pricing._schema import ModelEntry, PricePeriod, PriceSeries, PricingFile, Source
from ._meters import Meter, MeterSkipped, TokenKind, parse_meter

__all__ = [
    "API_URL",
    "ImportResult",
    "RetailRow",
    "Skipped",
    "import_rows",
    "parse_json",
    "read_pages",
    "rows_from_page",
]

API_URL = "https://prices.azure.com/api/retail/prices"
_GLOBAL_TYPES = {DeploymentType.GLOBAL, DeploymentType.GLOBAL_BATCH}
_UNITS = {
    "1k": Decimal(1000),
    "1k tokens": Decimal(1000),
    "1m": Decimal(1),
    "1m tokens": Decimal(1),
}
_FIELD_OF: dict[TokenKind, str] = {
    "input": "input_per_mtok",
    "cached_input": "cached_input_per_mtok",
    "output": "output_per_mtok",
    "audio_input": "audio_input_per_mtok",
    "audio_output": "audio_output_per_mtok",
}
# context window of the versions whose meters name a context size instead of a version
_CONTEXT_OF: dict[tuple[str, str], str] = {
    ("gpt-35-turbo", "0301"): "4k",
    ("gpt-35-turbo", "0613"): "4k",
    ("gpt-35-turbo", "1106"): "16k",
    ("gpt-35-turbo", "0125"): "16k",
    ("gpt-4", "0314"): "8k",
    ("gpt-4", "0613"): "8k",
    ("gpt-4", "1106-preview"): "128k",
    ("gpt-4", "0125-preview"): "128k",
    ("gpt-4", "vision-preview"): "128k",
    ("gpt-4", "turbo-2024-04-09"): "128k",
}


@dataclass(frozen=True)
class RetailRow:
    """One item of a Retail Prices API page, with where it was read."""

    file: str
    """The page file (or URL) the row came from."""
    index: int
    """0-based position of the row in the page's ``Items``."""
    meter_name: str
    """``meterName``."""
    product_name: str
    """``productName``."""
    service_name: str
    """``serviceName``."""
    unit: str
    """``unitOfMeasure`` (``1K`` or ``1M`` for token meters)."""
    price: Decimal
    """``retailPrice``, exact."""
    region: str
    """``armRegionName``, lower case."""
    start: dt.date
    """``effectiveStartDate`` (UTC day)."""
    price_type: str
    """``type``: ``Consumption``, ``DevTestConsumption``, ``Reservation``."""
    currency: str
    """``currencyCode``."""
    tier_minimum: Decimal
    """``tierMinimumUnits``."""

    def where(self) -> str:
        """``file: item N (meterName 'x')`` for messages."""
        return f"{self.file}: item {self.index} (meterName {self.meter_name!r})"


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
    """Rows whose price is in the file."""


# --------------------------------------------------------------------------- reading


def _need(item: Mapping[str, Any], key: str, kind: type, where: str) -> Any:
    value = item.get(key)
    if not isinstance(value, kind) or isinstance(value, bool):
        got = "missing" if key not in item else f"{type(value).__name__} {value!r}"
        raise RetailImportError(f"{where}: field {key!r} must be a {kind.__name__}, got {got}")
    return value


def rows_from_page(page: Any, source: str) -> list[RetailRow]:
    """The rows of one parsed page (a dict with ``Items``); errors name the file, item and meter."""
    if not isinstance(page, dict) or not isinstance(page.get("Items"), list):
        raise RetailImportError(
            f"{source}: not a Retail Prices API response (expected an object with an 'Items' list)"
        )
    rows = []
    for i, item in enumerate(page["Items"]):
        if not isinstance(item, dict):
            raise RetailImportError(f"{source}: item {i}: not an object")
        meter = item.get("meterName")
        where = f"{source}: item {i}"
        if isinstance(meter, str):
            where += f" (meterName {meter!r})"
        price = item.get("retailPrice")
        if isinstance(price, int) and not isinstance(price, bool):
            price = Decimal(price)
        if not isinstance(price, Decimal) or not price.is_finite() or price < 0:
            raise RetailImportError(
                f"{where}: field 'retailPrice' must be a number >= 0, got {price!r}"
            )
        start_text = _need(item, "effectiveStartDate", str, where)
        try:
            start = dt.datetime.fromisoformat(start_text.replace("Z", "+00:00")[:25])
        except ValueError:
            raise RetailImportError(
                f"{where}: field 'effectiveStartDate' is not a date-time: {start_text!r}"
            ) from None
        if start.tzinfo is not None:
            start = start.astimezone(dt.timezone.utc)
        tier = item.get("tierMinimumUnits", 0)
        rows.append(
            RetailRow(
                file=source,
                index=i,
                meter_name=_need(item, "meterName", str, where),
                product_name=_need(item, "productName", str, where),
                service_name=str(item.get("serviceName") or ""),
                unit=_need(item, "unitOfMeasure", str, where),
                price=price,
                region=str(item.get("armRegionName") or "").strip().lower(),
                start=start.date(),
                price_type=_need(item, "type", str, where),
                currency=_need(item, "currencyCode", str, where),
                tier_minimum=Decimal(tier) if isinstance(tier, (int, Decimal)) else Decimal(0),
            )
        )
    return rows


def parse_json(text: str, source: str) -> Any:
    """A page's JSON (``Decimal`` numbers, bounded depth and size); errors name line:column."""
    try:
        return loads_json(text, source)
    except InputFileError as exc:
        raise RetailImportError(str(exc)) from None


def read_pages(paths: Sequence[str | Path]) -> tuple[list[RetailRow], list[str]]:
    """Rows of saved API pages, and warnings (e.g. no page in the set is the last one)."""
    rows: list[RetailRow] = []
    next_links = 0
    for path in paths:
        try:
            text = read_text(path)
        except InputFileError as exc:
            raise RetailImportError(str(exc)) from None
        page = parse_json(text, str(path))
        rows.extend(rows_from_page(page, str(path)))
        if isinstance(page, dict) and page.get("NextPageLink"):
            next_links += 1
    warnings = []
    if paths and next_links == len(paths):
        warnings.append(
            "every page given has a NextPageLink: the last page (and maybe others) is missing"
        )
    return rows, warnings


# --------------------------------------------------------------------------- versions


def _version_matches(version: str, hint: str) -> bool:
    if version == hint or version.startswith(hint + "-") or version.endswith("-" + hint):
        return True
    if re.fullmatch(r"\d{4}", hint):
        return re.search(rf"\d{{4}}-{hint[:2]}-{hint[2:]}\Z", version) is not None
    return False


def _context(name: str, entry: ModelEntry, family: str, context: str) -> str | None:
    if entry.base == f"{family}-{context}":
        return context
    return _CONTEXT_OF.get((entry.base, entry.version))


ModelKind = Literal["chat", "completion", "reasoning", "embedding", "audio"]


@dataclass(frozen=True)
class _Target:
    model: str
    entry: ModelEntry | None  # None: a new version of a known base
    base: str
    version: str
    kind: ModelKind
    note: str | None


def _resolve(meter: Meter, models: Mapping[str, ModelEntry]) -> _Target:
    family, hint, ctx = meter.family, meter.version_hint, meter.context
    bases = {family, f"{family}-{ctx}"} if ctx else {family}
    known = [(n, e) for n, e in models.items() if e.base in bases]
    if not known:
        raise MeterSkipped(
            f"model {family!r} is not in the table; add its entry (with its version) first"
        )
    fits = known
    if ctx:
        fits = [(n, e) for n, e in known if _context(n, e, family, ctx) == ctx]
    what = f"{family} {ctx.upper()}" if ctx else family
    if hint:
        matched = [(n, e) for n, e in fits if _version_matches(e.version, hint)]
        if len(matched) == 1:
            name, entry = matched[0]
            return _Target(name, entry, entry.base, entry.version, entry.kind, None)
        if len(matched) > 1:
            raise MeterSkipped(
                f"version {hint} of {what} fits several models: {', '.join(n for n, _ in matched)}"
            )
        siblings = [e for _, e in known if e.base == family]
        if (
            siblings
            and re.fullmatch(r"\d{4}", hint)
            and all(re.fullmatch(r"\d{4}", e.version) for e in siblings)
        ):
            return _Target(
                f"{family}-{hint}",
                None,
                family,
                hint,
                siblings[-1].kind,
                f"new version {hint} of {family} "
                f"(metadata from {siblings[-1].base}-{siblings[-1].version})",
            )
        versions = ", ".join(e.version for _, e in known)
        raise MeterSkipped(
            f"version {hint} of {what} matches no version in the table ({versions}); "
            "the full version cannot be told from the meter"
        )
    if len(fits) == 1:
        name, entry = fits[0]
        why = f"the only {what} version in the table" + (
            " (the meter names a context size, not a version)" if ctx else ""
        )
        return _Target(
            name,
            entry,
            entry.base,
            entry.version,
            entry.kind,
            f"version {entry.version} inferred: {why}",
        )
    if not fits:
        raise MeterSkipped(f"no {what} version in the table fits this meter")
    raise MeterSkipped(
        f"version ambiguous: the meter names no version and {what} fits "
        + ", ".join(n for n, _ in fits)
    )


# --------------------------------------------------------------------------- importing


@dataclass(frozen=True)
class _Quote:
    price: Decimal  # per 1M tokens
    start: dt.date
    region: str
    row: RetailRow


_SeriesKey = tuple[str, DeploymentType, str | None]


class _Collector:
    def __init__(self) -> None:
        self.skips: dict[tuple[str, str, str], int] = defaultdict(int)
        self.warnings: list[str] = []

    def skip(self, row: RetailRow, reason: str) -> None:
        self.skips[(row.meter_name, row.product_name, reason)] += 1

    def skipped(self) -> list[Skipped]:
        return [
            Skipped(meter, product, reason, rows)
            for (meter, product, reason), rows in sorted(self.skips.items())
        ]


def _per_mtok(price: Decimal, multiplier: Decimal) -> Decimal:
    value = (price * multiplier).normalize()
    if value.as_tuple().exponent > -2:  # type: ignore[operator]  # finite: checked on read
        value = value.quantize(Decimal("0.01"))
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
) -> ImportResult:
    """Turn retail rows into a pricing file, resolving versions against ``table``'s models."""
    region = region.strip().lower()
    retrieved_on = retrieved_on or dt.datetime.now(dt.timezone.utc).date()
    source_id = source_id or f"azure-retail-{retrieved_on.isoformat()}"
    col = _Collector()
    quotes: dict[_SeriesKey, dict[TokenKind, list[_Quote]]] = defaultdict(lambda: defaultdict(list))
    targets: dict[str, _Target] = {}
    n_read = 0
    for row in rows:
        n_read += 1
        if row.currency != currency:
            raise RetailImportError(
                f"{row.where()}: currencyCode {row.currency!r}, expected {currency!r} (--currency)"
            )
        if row.price_type != "Consumption":
            col.skip(
                row, f"price type {row.price_type!r}: only Consumption (pay-as-you-go) is imported"
            )
            continue
        if not row.product_name.lower().startswith("azure openai"):
            col.skip(row, f"not an Azure OpenAI product (productName {row.product_name!r})")
            continue
        try:
            meter = parse_meter(row.meter_name)
            multiplier = _UNITS.get(row.unit.strip().lower())
            if multiplier is None:
                raise MeterSkipped(f"unit {row.unit!r} is not per 1K or 1M tokens")
            if row.tier_minimum:
                raise MeterSkipped(f"tiered price from {row.tier_minimum} units")
            if not row.price:
                raise MeterSkipped("zero price")
            target = _resolve(meter, table)
        except MeterSkipped as exc:
            col.skip(row, exc.reason)
            continue
        dtype = meter.deployment_type
        if dtype in _GLOBAL_TYPES or row.region == region:
            series_region = None
        elif all_regions and re.fullmatch(r"[a-z0-9]+", row.region):
            series_region = row.region
        else:
            continue  # another region's regional or data-zone price
        targets[target.model] = target
        quote = _Quote(_per_mtok(row.price, multiplier), row.start, row.region, row)
        quotes[(target.model, dtype, series_region)][meter.kind].append(quote)

    series: dict[str, list[PriceSeries]] = defaultdict(list)
    used = 0
    for key in sorted(quotes, key=lambda k: (k[0], list(DeploymentType).index(k[1]), k[2] or "")):
        model, dtype, series_region = key
        built = _build_series(key, quotes[key], targets[model], region, source_id, col)
        if built is not None:
            periods, n_rows = built
            used += n_rows
            series[model].append(
                PriceSeries(deployment_type=dtype, region=series_region, periods=periods)
            )
    if all_regions:
        _drop_same_as_base(series)
    models = _entries(series, targets, table)
    source = Source(
        title=f"Azure Retail Prices API ({currency}; {region} for regional and data-zone prices)",
        url=API_URL,
        retrieved_on=retrieved_on,
        note=source_note
        or "Pay-as-you-go (Consumption) Azure OpenAI token meters, imported by "
        "`azcost pricing import-azure`; per-1K meters multiplied by 1000.",
    )
    version = retrieved_on.strftime("%Y.%m.%d")
    pf = PricingFile(
        schema_version=1,
        version=version,
        currency=currency,
        description="Azure OpenAI list prices imported from the Azure Retail Prices API "
        f"on {retrieved_on}",
        sources={source_id: source},
        models=models,
    )
    return ImportResult(pf, col.skipped(), col.warnings, n_read, used)


def _build_series(
    key: _SeriesKey,
    by_kind: dict[TokenKind, list[_Quote]],
    target: _Target,
    base_region: str,
    source_id: str,
    col: _Collector,
) -> tuple[list[PricePeriod], int] | None:
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
    needed = ["input_per_mtok"] + ([] if target.kind == "embedding" else ["output_per_mtok"])
    missing = [f for f in needed if f not in fields]
    if missing:
        names = " or ".join(m.split("_per")[0] for m in missing)
        reason = f"{model} {dtype.value}: no {names} meter"
        for qs in by_kind.values():
            for q in qs:
                col.skip(q.row, reason)
        return None
    periods: list[PricePeriod] = []
    previous: dict[str, Decimal] | None = None
    where = series_region or ("" if dtype in _GLOBAL_TYPES else base_region)
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
            PricePeriod(
                effective_from=day,
                source=source_id,
                note=_note(current, target, where),
                **rates,
            )
        )
    n_rows = sum(len(qs) for qs in fields.values())
    return periods, n_rows


def _note(current: Mapping[str, _Quote], target: _Target, region: str) -> str:
    meters: list[tuple[str, str]] = []
    for f in (
        "input_per_mtok",
        "cached_input_per_mtok",
        "output_per_mtok",
        "audio_input_per_mtok",
        "audio_output_per_mtok",
    ):
        q = current.get(f)
        if q is not None and q.row.meter_name not in [m[0] for m in meters]:
            meters.append((q.row.meter_name, f"{q.row.price}/{q.row.unit.split()[0]}"))
    text = "retail meters " + ", ".join(f"'{m}' {p}" for m, p in meters)
    if region:
        text += f" ({region})"
    if target.note:
        text += f"; {target.note}"
    return text


def _drop_same_as_base(series: dict[str, list[PriceSeries]]) -> None:
    """Keep a region's series only where its rates differ from the region-less one."""
    for model, items in series.items():
        base = {s.deployment_type: s for s in items if s.region is None}
        kept = []
        for s in items:
            ref = base.get(s.deployment_type)
            if s.region is not None and ref is not None and _same_rates(s, ref):
                continue
            kept.append(s)
        series[model] = kept


def _same_rates(a: PriceSeries, b: PriceSeries) -> bool:
    def rates(s: PriceSeries) -> list[dict[str, Any]]:
        return [p.model_dump(exclude={"effective_from", "note", "source"}) for p in s.periods]

    return rates(a) == rates(b)


def _entries(
    series: Mapping[str, list[PriceSeries]],
    targets: Mapping[str, _Target],
    table: Mapping[str, ModelEntry],
) -> dict[str, ModelEntry]:
    order = {name: i for i, name in enumerate(table)}
    out: dict[str, ModelEntry] = {}
    for name in sorted(series, key=lambda n: _model_order(n, targets[n], order, table)):
        items = series[name]
        if not any(s.region is None for s in items):
            continue
        target = targets[name]
        offered = [s.deployment_type for s in items if s.region is None]
        if target.entry is not None:
            default = target.entry.default_deployment_type
            if default not in offered:
                default = min(offered, key=list(DeploymentType).index)
            out[name] = target.entry.model_copy(
                update={"prices": items, "default_deployment_type": default}
            )
        else:
            out[name] = ModelEntry(
                base=target.base,
                version=target.version,
                kind=target.kind,
                default_deployment_type=min(offered, key=list(DeploymentType).index),
                prices=items,
            )
    return out


def _model_order(
    name: str, target: _Target, order: Mapping[str, int], table: Mapping[str, ModelEntry]
) -> tuple[float, str]:
    if name in order:
        return (order[name], name)
    siblings = [order[n] for n, e in table.items() if e.base == target.base]
    return ((max(siblings) if siblings else len(order)) + 0.5, name)
