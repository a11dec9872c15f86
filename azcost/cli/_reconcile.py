"""``azcost reconcile``: Cost Management exports beside the ledger."""

from __future__ import annotations

import argparse
import sys
from decimal import Decimal, InvalidOperation
from typing import Any

from ..pricing._cost import EXACT
from ._common import add_format, dumps, parse_date, write

__all__ = ["register"]


def _tolerance(text: str) -> Decimal:
    """``0.5%`` or ``0.5``: a percentage (an argparse ``type=``)."""
    try:
        value = Decimal(text.strip().removesuffix("%"))
    except InvalidOperation:
        value = Decimal(-1)
    if not value.is_finite() or not 0 <= value <= 100:
        raise argparse.ArgumentTypeError(f"not a percentage from 0 to 100: {text!r}")
    return EXACT.scaleb(value, -2)  # exact: a percentage moved two places


def register(commands: Any) -> None:
    """Add ``azcost reconcile``."""
    r = commands.add_parser(
        "reconcile",
        help="compare Cost Management exports (the invoice) with the ledger",
        description=(
            "What Azure billed beside what azcost recorded, per day (or month), model "
            "version, deployment type and token kind. Example: azcost reconcile "
            "export-2026-11.csv.gz --by month"
        ),
    )
    r.add_argument(
        "exports",
        nargs="+",
        metavar="EXPORT",
        help="cost details files (.csv, .csv.gz, .parquet); a last argument with :// "
        "is the ledger URL (default: $AZCOST_LEDGER_URL, else ledger.db in the data dir)",
    )
    day = "YYYY-MM-DD"
    r.add_argument("--since", type=parse_date, metavar=day, help="first day (UTC), included")
    r.add_argument("--until", type=parse_date, metavar=day, help="last day (UTC), included")
    r.add_argument("--by", choices=("day", "month"), default="day", help="period (default: day)")
    r.add_argument(
        "--tolerance",
        type=_tolerance,
        default=Decimal("0.005"),
        metavar="PCT",
        help="relative difference still counted as a match, in percent (default: 0.5)",
    )
    r.add_argument("--resource", metavar="NAME", help="only this Azure OpenAI resource (account)")
    r.add_argument(
        "--pricing",
        action="append",
        default=[],
        metavar="PRICING.yaml",
        help="pricing table for model versions and expected cost (default: the shipped one; "
        "repeatable, later files layer on top)",
    )
    r.add_argument("--html", metavar="FILE", help="also write a self-contained HTML report")
    r.add_argument(
        "--fail-on-diff", action="store_true", help="exit 1 when any group is not a match"
    )
    add_format(r, "table", "json", "csv")
    r.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    from ..invoice._compare import reconcile
    from ..invoice._render import render_csv, render_notes, render_table, row_dicts, write_html

    paths: list[str] = list(args.exports)
    url = paths.pop() if len(paths) > 1 and "://" in paths[-1] else None
    pricing = None
    if args.pricing:
        from ..pricing._load import load_pricing

        pricing = load_pricing(*args.pricing)
    result = reconcile(
        paths,
        url,
        since=args.since,
        until=args.until,
        by=args.by,
        tolerance=args.tolerance,
        resource=args.resource,
        pricing=pricing,
    )
    if args.html:
        write_html(args.html, result)
    if args.format == "json":
        write(dumps(row_dicts(result)))
        sys.stderr.write(render_notes(result))
    elif args.format == "csv":
        sys.stdout.write(render_csv(result))
        sys.stderr.write(render_notes(result))
    else:
        write(render_table(result))
    return 1 if args.fail_on_diff and result.differs else 0
