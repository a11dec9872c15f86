"""The compiled-table cache: a validated file as JSON, keyed by the SHA-256 of its bytes.

An unchanged table then loads without YAML or pydantic. A missing or damaged entry only
makes a load slower; a read-only or full cache folder only leaves the table uncached.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import threading
from decimal import Decimal
from pathlib import Path
from typing import Any

from .._paths import cache_dir
from ._deployment_types import DeploymentType
from ._kinds import RATE_FIELDS
from ._records import CompiledFile, ModelInfo, Period, SeriesInfo, SourceInfo

__all__ = ["read_cache", "write_cache"]

_CACHE_FORMAT = 3  # 3: service-tier rates; 2: one rate field per token kind of _kinds.KINDS


def _to_cache(f: CompiledFile) -> dict[str, Any]:
    def period(p: Period) -> dict[str, Any]:
        out: dict[str, Any] = {"effective_from": p.effective_from.isoformat()}
        for name, value in zip(RATE_FIELDS, p.rates, strict=True):
            out[name] = None if value is None else str(value)
        out["source"] = p.source.id
        out["note"] = p.note
        if p.tiers:
            out["tiers"] = [[t, [None if v is None else str(v) for v in r]] for t, r in p.tiers]
        return out

    return {
        "format": _CACHE_FORMAT,
        "version": f.version,
        "currency": f.currency,
        "description": f.description,
        "sources": {
            k: [s.title, s.url, s.retrieved_on.isoformat(), s.note] for k, s in f.sources.items()
        },
        "models": {
            name: {
                "base": m.base,
                "version": m.version,
                "kind": m.kind,
                "display_name": m.display_name,
                "aliases": list(m.aliases),
                "default_for_base": m.default_for_base,
                "default_deployment_type": m.default_deployment_type.value,
                "retired_on": None if m.retired_on is None else m.retired_on.isoformat(),
                "note": m.note,
                "prices": [
                    [s.deployment_type.value, s.region, [period(p) for p in s.periods]]
                    for s in m.prices
                ],
            }
            for name, m in f.models.items()
        },
    }


def _from_cache(data: dict[str, Any], path: str) -> CompiledFile:
    day = dt.date.fromisoformat
    sources = {
        k: SourceInfo(k, title, url, day(retrieved), note)
        for k, (title, url, retrieved, note) in data["sources"].items()
    }

    def rate(value: str | None) -> Decimal | None:
        return None if value is None else Decimal(value)

    models = {}
    for name, m in data["models"].items():
        series = tuple(
            SeriesInfo(
                DeploymentType(dtype),
                region,
                tuple(
                    Period(
                        day(p["effective_from"]),
                        tuple(rate(p[name]) for name in RATE_FIELDS),
                        sources[p["source"]],
                        p["note"],
                        tuple(
                            (tier, tuple(rate(v) for v in rates))
                            for tier, rates in p.get("tiers", ())
                        ),
                    )
                    for p in periods
                ),
            )
            for dtype, region, periods in m["prices"]
        )
        retired = m["retired_on"]
        models[name] = ModelInfo(
            name,
            m["base"],
            m["version"],
            m["kind"],
            m["display_name"],
            tuple(m["aliases"]),
            m["default_for_base"],
            DeploymentType(m["default_deployment_type"]),
            None if retired is None else day(retired),
            series,
            path,
            m["note"],
        )
    return CompiledFile(
        path, data["version"], data["currency"], data["description"], sources, models
    )


def _cache_path(raw: bytes) -> Path:
    from .._version import __version__

    digest = hashlib.sha256(raw).hexdigest()[:32]
    return cache_dir() / f"pricing-{digest}-v{_CACHE_FORMAT}-{__version__}.json"


def read_cache(raw: bytes, path: str) -> CompiledFile | None:
    """The compiled file cached for these bytes, or None."""
    if os.environ.get("AZCOST_NO_CACHE"):
        return None
    try:
        data = json.loads(_cache_path(raw).read_text(encoding="utf-8"))
        if data.get("format") != _CACHE_FORMAT:
            return None
        return _from_cache(data, path)
    except (OSError, ValueError, KeyError, TypeError):
        return None  # a missing or damaged cache entry is only a slower load


def write_cache(raw: bytes, compiled: CompiledFile) -> None:
    """Cache the compiled form of these bytes (best effort)."""
    if os.environ.get("AZCOST_NO_CACHE"):
        return
    target = _cache_path(raw)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_text(json.dumps(_to_cache(compiled)), encoding="utf-8")
        os.replace(tmp, target)
    except OSError:
        pass  # read-only home, full disk: the table still loads, only uncached
