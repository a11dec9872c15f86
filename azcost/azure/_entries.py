"""From imported price series to the entries and file of a pricing table."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping

from ..pricing._deployment_types import deployment_type_order
from ..pricing._merge import agrees_from_start
from ..pricing._schema import ModelEntry, PriceSeries, PricingFile, Source
from ._versions import Target

__all__ = ["API_URL", "drop_same_as_base", "entries_of", "pricing_file"]

API_URL = "https://prices.azure.com/api/retail/prices"


def pricing_file(
    models: dict[str, ModelEntry],
    currency: str,
    region: str,
    retrieved_on: dt.date,
    source_id: str,
    source_note: str | None,
) -> PricingFile:
    """The imported models as a pricing file with its one retail source."""
    source = Source(
        title=f"Azure Retail Prices API ({currency}; {region} for regional and data-zone prices)",
        url=API_URL,
        retrieved_on=retrieved_on,
        note=source_note
        or "Pay-as-you-go (Consumption) Azure OpenAI token meters, imported by "
        "`azcost pricing import-azure`; per-1K meters multiplied by 1000.",
    )
    version = retrieved_on.strftime("%Y.%m.%d")
    return PricingFile(
        schema_version=1,
        version=version,
        currency=currency,
        description="Azure OpenAI list prices imported from the Azure Retail Prices API "
        f"on {retrieved_on}",
        sources={source_id: source},
        models=models,
    )


def drop_same_as_base(series: dict[str, list[PriceSeries]]) -> None:
    """Keep a region's series only where its rates differ from the region-less one's."""
    for model, items in series.items():
        base = {s.deployment_type: s for s in items if s.region is None}
        kept = []
        for s in items:
            ref = base.get(s.deployment_type)
            if s.region is not None and ref is not None and agrees_from_start(s, ref):
                continue
            kept.append(s)
        series[model] = kept


def entries_of(
    series: Mapping[str, list[PriceSeries]],
    targets: Mapping[str, Target],
    table: Mapping[str, ModelEntry],
    updating: Collection[str],
) -> dict[str, ModelEntry]:
    """Model entries of the imported series; region-only ones only for models being updated."""
    order = {name: i for i, name in enumerate(table)}
    out: dict[str, ModelEntry] = {}
    for name in sorted(series, key=lambda n: _model_order(n, targets[n], order, table)):
        items = series[name]
        if not any(s.region is None for s in items) and name not in updating:
            continue
        target = targets[name]
        offered = [s.deployment_type for s in items if s.region is None]
        if target.entry is not None:
            default = target.entry.default_deployment_type
            if offered and default not in offered:
                default = min(offered, key=deployment_type_order)
            out[name] = target.entry.model_copy(
                update={"prices": items, "default_deployment_type": default}
            )
        else:
            out[name] = ModelEntry(
                base=target.base,
                version=target.version,
                kind=target.kind,
                default_deployment_type=min(offered, key=deployment_type_order),
                prices=items,
            )
    return out


def _model_order(
    name: str, target: Target, order: Mapping[str, int], table: Mapping[str, ModelEntry]
) -> tuple[float, str]:
    if name in order:
        return (order[name], name)
    siblings = [order[n] for n, e in table.items() if e.base == target.base]
    return ((max(siblings) if siblings else len(order)) + 0.5, name)
