"""Which table version a meter prices: named, implied or inferred from the table, never guessed.

A meter names a version (``0806``, ``2024-04-09``), a context size instead
(``16K``), or nothing; the version is taken from the table's entries of that
model, and the meter is skipped with the reason when it fits none or several.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from ..pricing._schema import ModelEntry, ModelKind
from ._meters import Meter, MeterSkipped

__all__ = ["Target", "resolve_meter"]

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


@dataclass(frozen=True)
class Target:
    """The table model a meter prices, or a new version of a known base."""

    model: str
    entry: ModelEntry | None  # None: a new version of a known base
    base: str
    version: str
    kind: ModelKind
    note: str | None


def resolve_meter(meter: Meter, models: Mapping[str, ModelEntry]) -> Target:
    """The model version of ``models`` the meter prices; :class:`MeterSkipped` when not one."""
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
            return Target(
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
        return Target(
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
