"""Showing exact amounts: Decimal to text without exponent or trailing zeros."""

from __future__ import annotations

from decimal import Decimal

__all__ = ["money_str"]


def money_str(value: Decimal) -> str:
    """``Decimal('0.00007800')`` -> ``'0.000078'``; zero -> ``'0'``; never scientific notation."""
    if not value:
        return "0"
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text
