"""The saved full Retail Prices API dump for Azure OpenAI, and how the shipped table must price it.

``tests/data/retail/azure-openai-2026-08-11.json.gz`` holds the pages (see the
README beside it for where they come from). ``check_row`` says whether the
shipped table prices one token row exactly for its region, deployment type
and date, or why not.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import gzip
import json
import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from azcost.azure import MeterSkipped, RetailRow, parse_meter, resolve_meter, rows_from_page
from azcost.errors import AzcostError
from azcost.pricing import DeploymentType, ModelEntry, PricingTable

DUMP = Path(__file__).parent / "data" / "retail" / "azure-openai-2026-08-11.json.gz"
UNITS = {"1K": Decimal(1000), "1M": Decimal(1)}
_GAP = re.compile(r"^# gap: (?P<meters>[^@:]+?)(?: @ (?P<regions>[^:]+?))?: (?P<reason>.+)$")


def dump_rows() -> list[RetailRow]:
    """Every row of every page of the dump."""
    pages: list[Any] = json.loads(gzip.decompress(DUMP.read_bytes()), parse_float=Decimal)
    return [row for n, page in enumerate(pages) for row in rows_from_page(page, f"page {n + 1}")]


def is_token_row(row: RetailRow) -> bool:
    """A pay-as-you-go Azure OpenAI row priced per 1K or 1M tokens."""
    return (
        row.product_name.startswith("Azure OpenAI")
        and row.price_type == "Consumption"
        and row.unit in UNITS
        and "token" in row.meter_name.lower()
    )


@dataclass(frozen=True)
class Gap:
    """One line of the table header's gap list: meters (and regions) not priced, and why."""

    meters: tuple[str, ...]
    regions: tuple[str, ...]
    reason: str

    def covers(self, row: RetailRow) -> bool:
        """Whether this gap names the row's meter (and region)."""
        name = row.meter_name.lower()
        if not any(fnmatch.fnmatchcase(name, m) for m in self.meters):
            return False
        return not self.regions or any(fnmatch.fnmatchcase(row.region, r) for r in self.regions)


def header_gaps(header: str) -> list[Gap]:
    """The ``# gap: METER-GLOBS [@ REGION-GLOBS]: reason`` lines of a table header."""
    gaps = []
    for line in header.splitlines():
        m = _GAP.match(line.strip())
        if m:
            regions = m.group("regions") or ""
            gaps.append(
                Gap(
                    tuple(g.strip().lower() for g in m.group("meters").split(",")),
                    tuple(r.strip() for r in regions.split(",") if r.strip()),
                    m.group("reason").strip(),
                )
            )
    return gaps


def _next_starts(rows: list[RetailRow]) -> dict[tuple[str, str, dt.date], dt.date | None]:
    starts: dict[tuple[str, str], set[dt.date]] = defaultdict(set)
    for row in rows:
        starts[(row.meter_name, row.region)].add(row.start)
    out: dict[tuple[str, str, dt.date], dt.date | None] = {}
    for (meter, region), days in starts.items():
        ordered = sorted(days)
        for day, nxt in zip(ordered, [*ordered[1:], None], strict=True):
            out[(meter, region, day)] = nxt
    return out


def check_rows(
    rows: list[RetailRow], table: PricingTable, models: Mapping[str, ModelEntry]
) -> dict[int, str]:
    """Row index -> why the table does not price it exactly (rows priced exactly are absent)."""
    nexts = _next_starts(rows)
    problems: dict[int, str] = {}
    for i, row in enumerate(rows):
        problem = _check(row, nexts[(row.meter_name, row.region, row.start)], table, models)
        if problem is not None:
            problems[i] = problem
    return problems


def _check(
    row: RetailRow,
    superseded: dt.date | None,
    table: PricingTable,
    models: Mapping[str, ModelEntry],
) -> str | None:
    try:
        meter = parse_meter(row.meter_name)
        target = resolve_meter(meter, models)
    except MeterSkipped as exc:
        return f"skipped: {exc.reason}"
    want = (row.price * UNITS[row.unit]).normalize()
    if target.model not in models:
        return f"not priced: {target.model} is not in the table"
    try:
        day = max(row.start, _series_start(models[target.model], meter.deployment_type, row.region))
        if superseded is not None and superseded <= day:
            return None  # replaced before the table's series begins
        rates = table.rates(
            target.model,
            deployment_type=meter.deployment_type,
            region=row.region,
            at=day,
            service_tier=meter.service_tier,
        )
    except AzcostError as exc:
        return f"not priced: {exc}"
    fields = ["input", "output"] if meter.kind == "flat" else [meter.kind]
    if meter.kind == "flat" and target.kind == "embedding":
        fields = ["input"]
    got = [getattr(rates, f).scaleb(6).normalize() for f in fields]
    if any(g != want for g in got):
        return (
            f"{target.model} {meter.deployment_type.value} {meter.kind}: table {got[0]}, row {want}"
        )
    return None


def _series_start(entry: ModelEntry, dtype: DeploymentType, region: str) -> dt.date:
    """First day of the series the table prices this deployment type and region with."""
    found = {(s.deployment_type, s.region): s for s in entry.prices}
    series = found.get((dtype, region)) or found.get((dtype, None))
    return series.periods[0].effective_from if series is not None else dt.date.min
