"""Where azcost keeps its files: one resolver each, with environment overrides."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["cache_dir", "data_dir"]


def data_dir() -> Path:
    """Data dir: ``$AZCOST_HOME``, else ``$XDG_DATA_HOME/azcost`` or ``~/.local/share/azcost``."""
    home = os.environ.get("AZCOST_HOME")
    if home:
        return Path(home)
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg) if xdg else Path.home() / ".local" / "share"
    return base / "azcost"


def cache_dir() -> Path:
    """Cache directory: ``$AZCOST_CACHE_DIR``, else ``$AZCOST_HOME/cache``, else the XDG cache."""
    explicit = os.environ.get("AZCOST_CACHE_DIR")
    if explicit:
        return Path(explicit)
    home = os.environ.get("AZCOST_HOME")
    if home:
        return Path(home) / "cache"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "azcost"
