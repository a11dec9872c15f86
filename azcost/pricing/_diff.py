"""Comparing two pricing files: models, series and rates added, removed or changed.

A series is one model's prices for one deployment type (and region). The diff
lines up the periods of each series by ``effective_from``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ._deployment_types import DeploymentType
from ._money import money_str
from ._schema import ModelEntry, PricePeriod, PriceSeries, PricingFile, all_rates

__all__ = ["PricingDiff", "RateChange", "diff_files", "in_force"]

_Key = tuple[str, DeploymentType, "str | None"]


def in_force(periods: list[PricePeriod], day: dt.date) -> PricePeriod | None:
    """The period of ``periods`` (oldest first) in force on ``day``, or None before the first."""
    found = None
    for p in periods:
        if p.effective_from <= day:
            found = p
    return found


def _where(key: _Key) -> dict[str, Any]:
    return {"model": key[0], "deployment_type": key[1].value, "region": key[2]}


@dataclass(frozen=True)
class RateChange:
    """One rate that differs between the old and the new file."""

    model: str
    """Canonical model name."""
    deployment_type: DeploymentType
    """Deployment type of the series."""
    region: str | None
    """Region of the series, or None for the region-less one."""
    effective_from: dt.date
    """Start of the new period whose rate differs from the old one in force that day."""
    field: str
    """Rate field (``input_per_mtok``...), or a tier's (``priority.input_per_mtok``)."""
    old: Decimal | None
    """Old rate, or None where the old period had none."""
    new: Decimal | None
    """New rate, or None where the new period has none."""

    @property
    def change_pct(self) -> Decimal | None:
        """Relative change in percent, two decimals; None when either side is absent or zero."""
        if self.old is None or self.new is None or not self.old:
            return None
        return ((self.new - self.old) / self.old * 100).quantize(Decimal("0.01"))

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        pct = self.change_pct
        return {
            "model": self.model,
            "deployment_type": self.deployment_type.value,
            "region": self.region,
            "effective_from": self.effective_from.isoformat(),
            "field": self.field,
            "old": None if self.old is None else money_str(self.old),
            "new": None if self.new is None else money_str(self.new),
            "change_pct": None if pct is None else format(pct, "f"),
        }


@dataclass
class PricingDiff:
    """What changed from one pricing file to another."""

    old_version: str
    """``version`` of the old file."""
    new_version: str
    """``version`` of the new file."""
    added: list[str] = field(default_factory=list)
    """Models only in the new file."""
    removed: list[str] = field(default_factory=list)
    """Models only in the old file."""
    added_series: list[_Key] = field(default_factory=list)
    """Series of common models only in the new file."""
    removed_series: list[_Key] = field(default_factory=list)
    """Series of common models only in the old file."""
    changed: list[RateChange] = field(default_factory=list)
    """Rates of the new file that differ from the old file's rates in force on the same day."""
    added_periods: list[tuple[_Key, PricePeriod]] = field(default_factory=list)
    """Periods of common series starting on a day the old series has no period for."""
    removed_periods: list[tuple[_Key, PricePeriod]] = field(default_factory=list)
    """Periods of common series starting on a day the new series has no period for."""

    @property
    def empty(self) -> bool:
        """True when the files price everything the same way."""
        return not (
            self.added
            or self.removed
            or self.added_series
            or self.removed_series
            or self.changed
            or self.added_periods
            or self.removed_periods
        )

    def as_dict(self) -> dict[str, Any]:
        """The documented JSON shape of ``azcost pricing diff --format json``."""

        def period(key: _Key, p: PricePeriod) -> dict[str, Any]:
            rates = {f: money_str(v) for f, v in all_rates(p).items() if v is not None}
            return {**_where(key), "effective_from": p.effective_from.isoformat(), **rates}

        return {
            "old_version": self.old_version,
            "new_version": self.new_version,
            "added": self.added,
            "removed": self.removed,
            "added_series": [_where(k) for k in self.added_series],
            "removed_series": [_where(k) for k in self.removed_series],
            "changed": [c.as_dict() for c in self.changed],
            "added_periods": [period(k, p) for k, p in self.added_periods],
            "removed_periods": [period(k, p) for k, p in self.removed_periods],
        }

    def text(self) -> str:
        """A human summary, one line per change."""
        lines = [f"pricing diff: {self.old_version} -> {self.new_version}"]
        if self.empty:
            lines.append("no differences")
            return "\n".join(lines)

        def name(k: _Key) -> str:
            return f"{k[0]} {k[1].value}" + (f"@{k[2]}" if k[2] else "")

        for label, items in (("models added", self.added), ("models removed", self.removed)):
            if items:
                lines.append(f"{label} ({len(items)}): " + ", ".join(items))
        for label, keys in (
            ("series added", self.added_series),
            ("series removed", self.removed_series),
        ):
            if keys:
                lines.append(f"{label} ({len(keys)}): " + ", ".join(name(k) for k in keys))
        if self.changed:
            lines.append(f"rates changed ({len(self.changed)}):")
            for c in self.changed:
                pct = c.change_pct
                old = "-" if c.old is None else money_str(c.old)
                new = "-" if c.new is None else money_str(c.new)
                change = "" if pct is None else f"  ({'+' if pct > 0 else ''}{pct}%)"
                lines.append(
                    f"  {name((c.model, c.deployment_type, c.region))} from {c.effective_from}: "
                    f"{c.field} {old} -> {new}{change}"
                )
        for label, periods in (
            ("periods added", self.added_periods),
            ("periods removed", self.removed_periods),
        ):
            if periods:
                lines.append(f"{label} ({len(periods)}):")
                lines.extend(f"  {name(k)} from {p.effective_from}" for k, p in periods)
        return "\n".join(lines)


def _series(entry: ModelEntry, name: str) -> dict[_Key, PriceSeries]:
    return {(name, s.deployment_type, s.region): s for s in entry.prices}


def diff_files(old: PricingFile, new: PricingFile) -> PricingDiff:
    """Compare two pricing files model by model, series by series, period by period."""
    d = PricingDiff(old.version, new.version)
    d.added = [m for m in new.models if m not in old.models]
    d.removed = [m for m in old.models if m not in new.models]
    for name, new_entry in new.models.items():
        old_entry = old.models.get(name)
        if old_entry is None:
            continue
        old_series = _series(old_entry, name)
        new_series = _series(new_entry, name)
        d.added_series += [k for k in new_series if k not in old_series]
        d.removed_series += [k for k in old_series if k not in new_series]
        for key, ns in new_series.items():
            os_ = old_series.get(key)
            if os_ is None:
                continue
            old_by_day = {p.effective_from: p for p in os_.periods}
            new_days = {p.effective_from for p in ns.periods}
            for p in ns.periods:
                before = old_by_day.get(p.effective_from)
                if before is None:
                    d.added_periods.append((key, p))
                    before = in_force(os_.periods, p.effective_from)
                if before is None:
                    continue
                old_rates, new_rates = all_rates(before), all_rates(p)
                fields = [*new_rates, *(f for f in old_rates if f not in new_rates)]
                d.changed += [
                    RateChange(key[0], key[1], key[2], p.effective_from, f, was, now)
                    for f in fields
                    if (was := old_rates.get(f)) != (now := new_rates.get(f))
                ]
            d.removed_periods += [(key, p) for p in os_.periods if p.effective_from not in new_days]
    return d
