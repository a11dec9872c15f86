"""The service tiers azcost prices: one table the schema, costs, import and callback derive from.

A call runs on a service tier (OpenAI's ``service_tier``): the standard tier, which the
responses name ``default`` (a request may ask for ``auto``), is priced at a period's own
rates; every other tier Azure sells has rates of its own, written in a period's
``service_tiers`` under the tier's name. A call on a tier the period has no rates for is
never priced at another tier's rates. A new tier is one line here.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = [
    "SERVICE_TIERS",
    "STANDARD",
    "STANDARD_NAMES",
    "TIER_NAMES",
    "ServiceTier",
    "split_tier_key",
    "tier_key",
]

STANDARD = "standard"
"""The name azcost gives the standard tier, whose rates are a period's own."""

STANDARD_NAMES = frozenset({"default", STANDARD, "auto"})
"""``service_tier`` values priced at a period's own rates (responses say ``default``)."""


class ServiceTier(NamedTuple):
    """A service tier sold at rates of its own."""

    name: str
    """Key in a period's ``service_tiers`` and the ``service_tier`` a response names."""
    doc: str
    """What the tier is, for the schema's field documentation."""


SERVICE_TIERS: tuple[ServiceTier, ...] = (
    ServiceTier(
        "priority",
        "priority processing, low-latency pay-as-you-go on Global and Data Zone Standard "
        "deployments (the retail API's 'pp' meters)",
    ),
    ServiceTier(
        "flex",
        "flex processing, slower and cheaper, for latency-tolerant requests",
    ),
)
"""Every tier with rates of its own, in file order."""

TIER_NAMES: tuple[str, ...] = tuple(t.name for t in SERVICE_TIERS)
"""Names of :data:`SERVICE_TIERS`, in file order."""


def tier_key(tier: str, rate_field: str) -> str:
    """The key of a tier's rate among a period's rates: ``priority.input_per_mtok``."""
    return f"{tier}.{rate_field}"


def split_tier_key(key: str) -> tuple[str | None, str]:
    """``priority.input_per_mtok`` -> (``priority``, ``input_per_mtok``); a plain field -> None."""
    tier, dot, field = key.partition(".")
    return (tier, field) if dot else (None, key)
