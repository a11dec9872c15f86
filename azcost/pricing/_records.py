"""The compiled records of a pricing file: sources, periods, series, models.

Nothing here imports pydantic: :mod:`azcost.pricing._load` validates each file and
compiles it into these immutable records (and caches them).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import NamedTuple

from ._deployment_types import DeploymentType
from ._kinds import KINDS, RATE_FIELDS

__all__ = ["CompiledFile", "ModelInfo", "Period", "SeriesInfo", "SourceInfo"]

_KIND_INDEX = {k.name: i for i, k in enumerate(KINDS)}


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
    rates: tuple[Decimal | None, ...]
    """Rate per 1M tokens of each kind, in :data:`KINDS` order; None where not sold."""
    source: SourceInfo
    """Where the figures come from."""
    note: str | None = None
    """How the figures were derived, when not read directly."""
    tiers: tuple[tuple[str, tuple[Decimal | None, ...]], ...] = ()
    """Rates of the service tiers sold at rates of their own: (tier, rates in
    :data:`KINDS` order), in :data:`~azcost.pricing._tiers.SERVICE_TIERS` order."""

    @property
    def source_id(self) -> str:
        """Id of the source in its file."""
        return self.source.id

    def rate(self, kind: str) -> Decimal | None:
        """The rate per 1M tokens of one kind (``"cached_input"``), or None where not sold."""
        return self.rates[_KIND_INDEX[kind]]

    def tier_rates(self, tier: str) -> tuple[Decimal | None, ...] | None:
        """The rates per 1M tokens of one service tier (``"priority"``), or None where not sold."""
        for name, rates in self.tiers:
            if name == tier:
                return rates
        return None

    def rate_fields(self) -> dict[str, Decimal | None]:
        """Every rate by its file field (``input_per_mtok``...), in file order."""
        return dict(zip(RATE_FIELDS, self.rates, strict=True))

    def tier_rate_fields(self) -> dict[str, dict[str, Decimal | None]]:
        """Every service tier's rates by file field, by tier (``{"priority": {...}}``)."""
        return {tier: dict(zip(RATE_FIELDS, rates, strict=True)) for tier, rates in self.tiers}

    def __getattr__(self, name: str) -> Decimal | None:
        """A rate by its file field: ``period.cached_input_per_mtok``."""
        kind = name[: -len("_per_mtok")] if name.endswith("_per_mtok") else None
        if kind in _KIND_INDEX:
            return self.rates[_KIND_INDEX[kind]]
        raise AttributeError(name)


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
