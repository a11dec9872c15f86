"""``azcost pricing import-azure|diff|update``: keeping tables current from Azure's price list."""

from __future__ import annotations

import argparse
import datetime as dt
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from ..errors import AzcostError
from ._common import add_format, dumps, write

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from ..azure._pages import RetailRow
    from ..azure._retail import ImportResult
    from ..pricing._schema import ModelEntry

__all__ = ["register"]

_IMPORT_HEADER = """\
# Azure OpenAI list prices imported by `azcost pricing import-azure` from the
# Azure Retail Prices API ({source}) on {day}.
# Every price is {currency} per 1M tokens (per-1K meters multiplied by 1000);
# region-less regional and data-zone series carry the {region} price.
# Periods start on the rows' effectiveStartDate; each period's note names its meters."""


def _add_source_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--region",
        default="eastus",
        help="region whose regional and data-zone "
        "prices the region-less series carry (default: eastus)",
    )
    p.add_argument(
        "--all-regions",
        action="store_true",
        help="also add region-specific series where another region's price differs",
    )
    p.add_argument(
        "--fetch",
        action="store_true",
        help="query the Retail Prices API instead of reading saved pages",
    )
    p.add_argument(
        "--api-url",
        default=None,
        metavar="URL",
        help="Retail Prices API endpoint (default: https://prices.azure.com/api/retail/prices)",
    )
    p.add_argument(
        "--save-pages",
        metavar="DIR",
        help="with --fetch, save each page as DIR/page-NNN.json (for update --from)",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=30.0,
        metavar="S",
        help="seconds per request with --fetch (default: 30)",
    )
    p.add_argument(
        "--retries",
        type=int,
        default=4,
        metavar="N",
        help="retries on HTTP 429/5xx or network errors with --fetch (default: 4)",
    )


def register(verbs: Any) -> None:
    """Add ``import-azure``, ``diff`` and ``update`` to the ``pricing`` group."""
    p = verbs.add_parser(
        "import-azure",
        help="build a pricing file from Azure Retail Prices API pages (saved or --fetch)",
        description="Read saved Retail Prices API responses (or --fetch them), keep the Azure "
        "OpenAI token meters and write a valid pricing file; every meter left out is listed "
        "with the reason.",
    )
    p.add_argument("files", nargs="*", metavar="FILE.json", help="saved API response pages")
    p.add_argument("--output", "-o", required=True, metavar="NEW.yaml", help="file to write")
    p.add_argument(
        "--table",
        metavar="TABLE.yaml",
        help="table whose models resolve versions and give metadata (default: shipped)",
    )
    p.add_argument("--currency", default="USD", help="currency of the prices (default: USD)")
    _add_source_options(p)
    add_format(p, "text", "json")
    p.set_defaults(run=_run_import)

    p = verbs.add_parser(
        "diff",
        help="models added/removed and rates changed between two pricing files",
        description="Compare two pricing files: models and series added or removed, rates "
        "changed (old -> new, % change) per deployment type and period.",
    )
    p.add_argument("old", metavar="OLD")
    p.add_argument("new", metavar="NEW")
    add_format(p, "text", "json")
    p.set_defaults(run=_run_diff)

    p = verbs.add_parser(
        "update",
        help="merge Azure's current prices into a table as new effective-dated periods",
        description="Append imported prices to TABLE as new periods (history is never "
        "rewritten), bump its version, rewrite it canonically and print the diff.",
    )
    p.add_argument("table", metavar="TABLE.yaml")
    p.add_argument(
        "--from",
        dest="files",
        nargs="+",
        default=[],
        metavar="FILE.json",
        help="saved API response pages",
    )
    p.add_argument("--dry-run", action="store_true", help="print the diff, write nothing")
    _add_source_options(p)
    add_format(p, "text", "json")
    p.set_defaults(run=_run_update)


def _rows(args: argparse.Namespace, currency: str) -> tuple[list[RetailRow], list[str], str]:
    """Rows from saved pages or the API, warnings, and a note naming where they came from."""
    from ..azure._fetch import fetch_pages
    from ..azure._pages import read_pages, rows_from_page
    from ..azure._retail import API_URL

    if args.fetch:
        if args.files:
            raise AzcostError("give saved pages or --fetch, not both")
        pages = fetch_pages(
            api_url=args.api_url or API_URL,
            currency=currency,
            timeout=args.timeout,
            retries=args.retries,
            on_page=_page_progress(),
        )
        rows = []
        for i, (url, text, page) in enumerate(pages):
            rows.extend(rows_from_page(page, url))
            if args.save_pages:
                folder = Path(args.save_pages)
                folder.mkdir(parents=True, exist_ok=True)
                (folder / f"page-{i + 1:03d}.json").write_text(text, encoding="utf-8")
        return rows, [], f"fetched {len(pages)} page(s)"
    if not args.files:
        raise AzcostError("no response pages given: pass FILE.json ... or --fetch")
    rows, warnings = read_pages(args.files)
    return rows, warnings, f"{len(args.files)} saved page(s)"


def _progress_stream() -> TextIO | None:
    """Standard error when it is a terminal: progress lines are for people, not logs."""
    return sys.stderr if sys.stderr.isatty() else None


def _page_progress() -> Callable[[int, Any], None] | None:
    stream = _progress_stream()
    if stream is None:
        return None
    rows = 0

    def show(n: int, page: Any) -> None:
        nonlocal rows
        items = page.get("Items") if isinstance(page, dict) else None
        rows += len(items) if isinstance(items, list) else 0
        stream.write(f"\rfetching: {n} page(s) read, {rows} row(s)")
        stream.flush()

    return show


def _show_totals(result: ImportResult) -> None:
    stream = _progress_stream()
    if stream is not None:
        other = result.rows_read - result.rows_used
        stream.write(
            f"\r{result.rows_read} row(s) read: {result.rows_used} kept, "
            f"{other} skipped or another region's\n"
        )
        stream.flush()


def _table_models(path: str | None) -> dict[str, ModelEntry]:
    """Models of the given table, or of every shipped table (later files win)."""
    from .. import shipped_pricing_paths
    from ..pricing._writer import read_table

    paths = [path] if path is not None else shipped_pricing_paths()
    models: dict[str, ModelEntry] = {}
    for p in paths:
        models.update(read_table(p).file.models)
    return models


def _import(
    args: argparse.Namespace,
    models: Mapping[str, ModelEntry],
    currency: str,
    *,
    update: bool = False,
) -> ImportResult:
    from ..azure._retail import import_rows

    if not re.fullmatch(r"[a-z0-9]+", args.region.strip().lower()):
        raise AzcostError(f"--region must be an Azure region name like eastus, not {args.region!r}")
    rows, warnings, origin = _rows(args, currency)
    result = import_rows(
        rows,
        models,
        region=args.region,
        currency=currency,
        all_regions=args.all_regions,
        existing=[(n, s.deployment_type, s.region) for n, e in models.items() for s in e.prices]
        if update
        else (),
        source_note=f"Pay-as-you-go (Consumption) Azure OpenAI token meters, {origin}, imported "
        "by `azcost pricing import-azure`; per-1K meters multiplied by 1000.",
    )
    result.warnings[:0] = warnings
    if args.fetch:
        _show_totals(result)
    return result


def _report(result: ImportResult) -> dict[str, Any]:
    return {
        "rows_read": result.rows_read,
        "rows_used": result.rows_used,
        "models": list(result.file.models),
        "warnings": result.warnings,
        "skipped": [
            {
                "meter_name": s.meter_name,
                "product_name": s.product_name,
                "reason": s.reason,
                "rows": s.rows,
            }
            for s in result.skipped
        ],
    }


def _report_lines(result: ImportResult) -> list[str]:
    lines = [f"warning: {w}" for w in result.warnings]
    if result.skipped:
        lines.append(f"skipped {len(result.skipped)} meter(s):")
        for s in result.skipped:
            rows = f" [{s.rows} rows]" if s.rows > 1 else ""
            lines.append(f"  {s.meter_name!r} ({s.product_name}){rows}: {s.reason}")
    return lines


def _check_written(path: Path) -> None:
    from .. import load_pricing

    load_pricing(path)


def _run_import(args: argparse.Namespace) -> int:
    from ..pricing import dump_table, write_atomic

    result = _import(args, _table_models(args.table), args.currency)
    header = _IMPORT_HEADER.format(
        source=args.api_url or "https://prices.azure.com/api/retail/prices",
        day=dt.datetime.now(dt.timezone.utc).date(),
        currency=args.currency,
        region=args.region,
    )
    text = dump_table(result.file, header)
    write_atomic(args.output, text, check=_check_written)
    n_series = sum(len(m.prices) for m in result.file.models.values())
    n_periods = sum(len(s.periods) for m in result.file.models.values() for s in m.prices)
    if args.format == "json":
        write(dumps({"output": args.output, **_report(result)}))
        return 0
    lines = [
        f"wrote {args.output}: {len(result.file.models)} model(s), {n_series} series, "
        f"{n_periods} period(s) from {result.rows_used} of {result.rows_read} row(s)"
    ]
    write("\n".join(lines + _report_lines(result)))
    return 0


def _run_diff(args: argparse.Namespace) -> int:
    from ..pricing._diff import diff_files
    from ..pricing._writer import read_table

    diff = diff_files(read_table(args.old).file, read_table(args.new).file)
    write(dumps(diff.as_dict()) if args.format == "json" else diff.text())
    return 0


def _run_update(args: argparse.Namespace) -> int:
    from ..pricing import dump_table, read_table, write_atomic
    from ..pricing._diff import diff_files
    from ..pricing._merge import merge_import

    table = read_table(args.table)
    result = _import(args, table.file.models, table.file.currency, update=True)
    merged = merge_import(table.file, result.file, partial=result.partial)
    diff = diff_files(table.file, merged.file)
    if diff.empty:
        merged.file = table.file  # nothing to record: keep the version
        diff.new_version = table.file.version
    if args.format == "json":
        data = {
            "table": args.table,
            "version": merged.file.version,
            "written": not args.dry_run and not diff.empty,
            "appended": merged.appended,
            "unchanged": merged.unchanged,
            "not_merged": merged.skipped,
            "diff": diff.as_dict(),
            "import": _report(result),
        }
        out = dumps(data)
    else:
        lines = [diff.text()]
        lines += [f"not merged: {s}" for s in merged.skipped]
        lines += _report_lines(result)
        if diff.empty:
            lines.append(f"{args.table} is up to date; nothing written")
        elif args.dry_run:
            version = merged.file.version
            lines.append(f"dry run: {args.table} not written (would be version {version})")
        else:
            lines.append(f"wrote {args.table} (version {merged.file.version})")
        out = "\n".join(lines)
    if not args.dry_run and not diff.empty:
        write_atomic(args.table, dump_table(merged.file, table.header), check=_check_written)
    write(out)
    return 0
