"""azcost demo: the offline demo (filled by the callback work)."""

from __future__ import annotations

from typing import Any

__all__ = ["register"]


def register(commands: Any) -> None:
    """Add this module's commands to the parser."""
