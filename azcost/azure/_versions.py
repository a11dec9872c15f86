"""Which model version a meter prices: named by the meter, or documented by Azure, never guessed.

A meter names a version (``0806``, ``2024-04-09``), sometimes with a context size
(``16K``), and the version is matched against the table's entries of that model. A
meter that names no version gets the version Azure's model documentation gives for
its model, kept as data in ``meter_versions.json`` beside this module with the
source it was read from; a model the data has no version for is skipped with the
reason.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

from ..pricing._schema import ModelEntry, ModelKind
from ._meters import Meter, MeterSkipped

__all__ = ["DocumentedVersion", "Target", "documented_versions", "resolve_meter"]

# context window of the versions whose meters name a context size beside the version
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
class DocumentedVersion:
    """The version Azure's documentation gives for a model whose meters name none."""

    base: str
    """The model (``o1-pro``), as meters name it once read."""
    version: str
    """The documented version (``2025-03-19``)."""
    kind: ModelKind
    """What the model does, for an entry the table does not have yet."""
    source: str
    """Where the version was read: the source's id (a ``sources`` entry of the shipped
    table and of ``meter_versions.json``) and its URL."""
    note: str | None = None
    """Anything a reader must know (documents that disagree, shared meters)."""


def _load() -> tuple[dict[str, DocumentedVersion], dict[str, str]]:
    text = resources.files(__package__).joinpath("meter_versions.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    sources = {sid: f"{sid}: {s['url']}" for sid, s in data["sources"].items()}
    found = {
        base: DocumentedVersion(base, v["version"], v["kind"], sources[v["source"]], v.get("note"))
        for base, v in data["versions"].items()
    }
    return found, dict(data["undocumented"])


_DOCUMENTED, _UNDOCUMENTED = _load()


def documented_versions() -> Mapping[str, DocumentedVersion]:
    """Every documented version of ``meter_versions.json``, by the model its meters name."""
    return _DOCUMENTED


def _version_matches(version: str, hint: str) -> bool:
    if version == hint or version.startswith(hint + "-") or version.endswith("-" + hint):
        return True
    if re.fullmatch(r"\d{4}", hint):
        return re.search(rf"\d{{4}}-{hint[:2]}-{hint[2:]}\Z", version) is not None
    return False


def _context(entry: ModelEntry, family: str, context: str) -> str | None:
    if entry.base == f"{family}-{context}":
        return context
    return _CONTEXT_OF.get((entry.base, entry.version))


@dataclass(frozen=True)
class Target:
    """The table model a meter prices, or a new version of a known base."""

    model: str
    entry: ModelEntry | None  # None: a model version the table does not have yet
    base: str
    version: str
    kind: ModelKind
    note: str | None


def resolve_meter(meter: Meter, models: Mapping[str, ModelEntry]) -> Target:
    """The model version of ``models`` the meter prices; :class:`MeterSkipped` when not one."""
    if meter.version_hint is None:
        return _documented(meter, models)
    return _named(meter, meter.version_hint, models)


def _named(meter: Meter, hint: str, models: Mapping[str, ModelEntry]) -> Target:
    """The table's version matching the version the meter names (and its context size)."""
    family, ctx = meter.family, meter.context
    bases = {family, f"{family}-{ctx}"} if ctx else {family}
    known = [(n, e) for n, e in models.items() if e.base in bases]
    if not known:
        raise MeterSkipped(
            f"model {family!r} is not in the table; add its entry (with its version) first"
        )
    fits = [(n, e) for n, e in known if _context(e, family, ctx) == ctx] if ctx else known
    what = f"{family} {ctx.upper()}" if ctx else family
    matched = [(n, e) for n, e in fits if _version_matches(e.version, hint)]
    if len(matched) == 1:
        name, entry = matched[0]
        return Target(name, entry, entry.base, entry.version, entry.kind, None)
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
        last = siblings[-1]
        why = f"new version {hint} of {family} (metadata from {last.base}-{last.version})"
        return Target(f"{family}-{hint}", None, family, hint, last.kind, why)
    versions = ", ".join(e.version for _, e in known)
    raise MeterSkipped(
        f"version {hint} of {what} matches no version in the table ({versions}); "
        "the full version cannot be told from the meter"
    )


def _documented(meter: Meter, models: Mapping[str, ModelEntry]) -> Target:
    """The version Azure documents for the model of a meter that names none."""
    key = f"{meter.family} {meter.context}" if meter.context else meter.family
    doc = _DOCUMENTED.get(key)
    if doc is None:
        raise MeterSkipped(_UNDOCUMENTED.get(key) or _no_version(key, meter.family, models))
    name = f"{doc.base}-{doc.version}"
    note = f"version {doc.version} from Azure's model documentation ({doc.source})"
    entry = models.get(name)
    if entry is not None:
        return Target(name, entry, entry.base, entry.version, entry.kind, note)
    return Target(name, None, doc.base, doc.version, doc.kind, note)


def _no_version(key: str, family: str, models: Mapping[str, ModelEntry]) -> str:
    versions = sorted(e.version for e in models.values() if e.base == family)
    several = f" (the table has {', '.join(versions)})" if len(versions) > 1 else ""
    return (
        f"the meter names no version and meter_versions.json documents none for {key}"
        f"{several}: never guessed"
    )
