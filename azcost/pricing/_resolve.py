"""Name resolution: from what a client reports to one canonical model version.

Azure answers with the base name (``gpt-35-turbo``); LangChain may append a
``model_version`` (sometimes twice); OpenAI spells names its own way
(``gpt-3.5-turbo``). This module turns all of those into the canonical name
of a pricing table (``gpt-35-turbo-0301``) and records how it matched.
"""

from __future__ import annotations

import difflib
import enum
from collections.abc import Iterable, Mapping
from typing import NamedTuple

from ..errors import UnknownModelError

__all__ = ["MatchKind", "NameIndex", "Resolution", "join_version", "normalize_name", "undouble"]


class MatchKind(str, enum.Enum):
    """How a reported model name matched a pricing table entry."""

    EXACT = "exact"
    """The name is the canonical name."""
    VERSION_APPENDED = "version-appended"
    """The name plus the given model version is the canonical name."""
    SPELLING = "spelling"
    """Equal after normalising case, OpenAI spelling or LangChain's suffixes."""
    ALIAS = "alias"
    """The name is a declared alias of that version."""
    BASE_DEFAULT = "base-default"
    """A bare base name resolved to its default version: the version is assumed."""
    DEPLOYMENT = "deployment"
    """Named by the caller's deployments map."""

    def __str__(self) -> str:
        return self.value


class Resolution(NamedTuple):
    """The outcome of resolving one reported name (and optional version)."""

    requested: str
    """The name as reported by the client."""
    model_version: str | None
    """The model version passed alongside, if any."""
    model: str
    """Canonical versioned name in the pricing table."""
    match: MatchKind
    """How the name matched."""

    @property
    def assumed(self) -> bool:
        """True when the version was not known and the base's default was assumed."""
        return self.match is MatchKind.BASE_DEFAULT


_PREFIXES = ("azure/", "azure_ai/", "openai/")
_SUFFIXES = ("-completion",)


def normalize_name(name: str) -> str:
    """Lower-case, trim, drop provider prefixes and ``-completion``; map gpt-3.5 to gpt-35."""
    s = name.strip().lower()
    for prefix in _PREFIXES:
        if s.startswith(prefix):
            s = s[len(prefix) :]
    for suffix in _SUFFIXES:
        if s.endswith(suffix):
            s = s[: -len(suffix)]
    if s.startswith("gpt-3.5"):
        s = "gpt-35" + s[len("gpt-3.5") :]
    return s


def undouble(name: str, version: str | None) -> str:
    """Undo LangChain's second append: ``gpt-4o-2024-08-06-2024-08-06`` -> ``gpt-4o-2024-08-06``."""
    if version:
        twice = f"-{version}-{version}"
        while name.endswith(twice):
            name = name[: -len(version) - 1]
    return name


def join_version(name: str, version: str | None) -> str:
    """Append ``-version`` to ``name`` unless it already ends with it."""
    if not version:
        return name
    version = version.strip()
    if not version or name == version or name.endswith("-" + version):
        return name
    return f"{name}-{version}"


class NameIndex:
    """All names of a table: canonical names, aliases and base defaults."""

    __slots__ = ("_aliases", "_bases", "_cache", "_canonical")

    def __init__(
        self,
        canonical: Iterable[str],
        aliases: Mapping[str, str],
        base_defaults: Mapping[str, str],
    ) -> None:
        self._canonical = frozenset(canonical)
        self._aliases = dict(aliases)
        self._bases = dict(base_defaults)
        self._cache: dict[tuple[str, str | None], Resolution] = {}

    def all_names(self) -> list[str]:
        """Every name the index answers to, sorted."""
        return sorted(self._canonical | self._aliases.keys() | self._bases.keys())

    def suggest(self, name: str, n: int = 5) -> list[str]:
        """Closest known names to ``name``."""
        return difflib.get_close_matches(normalize_name(name), self.all_names(), n=n, cutoff=0.5)

    def resolve(self, name: str, model_version: str | None = None) -> Resolution:
        """Resolve a reported name (and version) or raise :class:`UnknownModelError`."""
        key = (name, model_version)
        found = self._cache.get(key)
        if found is None:
            found = self._resolve(name, model_version)
            if len(self._cache) < 4096:
                self._cache[key] = found
        return found

    def _lookup(self, candidate: str, raw: str) -> tuple[str, MatchKind] | None:
        if candidate in self._canonical:
            return candidate, (MatchKind.EXACT if candidate == raw else MatchKind.SPELLING)
        target = self._aliases.get(candidate)
        if target is not None:
            return target, MatchKind.ALIAS
        return None

    def _resolve(self, name: str, model_version: str | None) -> Resolution:
        if not isinstance(name, str) or not name.strip():
            raise UnknownModelError(str(name), detail="empty model name")
        version = model_version.strip().lower() if model_version else None
        alias_target = self._aliases.get(join_version(name.strip().lower(), version))
        if alias_target is not None:
            return Resolution(name, model_version, alias_target, MatchKind.ALIAS)
        norm = normalize_name(name)
        full = join_version(norm, version)
        found = self._lookup(full, name)
        if found is not None:
            model, kind = found
            if full != norm and kind is not MatchKind.ALIAS:
                kind = MatchKind.VERSION_APPENDED
            return Resolution(name, model_version, model, kind)
        if version is None:
            default = self._bases.get(norm)
            if default is not None:
                return Resolution(name, model_version, default, MatchKind.BASE_DEFAULT)
        shown = full if full != norm else name
        detail = f"model_version {model_version!r}" if version else ""
        raise UnknownModelError(shown, self.suggest(full), detail=detail)
