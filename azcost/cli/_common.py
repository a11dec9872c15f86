"""Helpers shared by the CLI commands: output format and JSON encoding."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from decimal import Decimal
from typing import Any

from ..pricing._money import money_str

__all__ = ["add_format", "dumps", "parse_date", "write"]


def add_format(parser: argparse.ArgumentParser, *choices: str) -> None:
    """Add ``--format`` with the given choices, the first being the default."""
    parser.add_argument(
        "--format",
        choices=choices,
        default=choices[0],
        help=f"output format (default: {choices[0]})",
    )


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return money_str(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if hasattr(value, "value"):
        return value.value
    raise TypeError(f"cannot encode {type(value).__name__}")


def dumps(data: Any) -> str:
    """JSON with decimals as exact strings."""
    return json.dumps(data, indent=2, default=_default, ensure_ascii=False)


def write(text: str) -> None:
    """Print to stdout."""
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


def parse_date(text: str) -> dt.date:
    """Parse YYYY-MM-DD (an argparse ``type=``): a bad value is a usage error naming it."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None
