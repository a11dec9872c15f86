"""``azcost audit`` and ``azcost ledger import|export|path|stats|rollup``."""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from typing import TYPE_CHECKING, Any

from ..errors import AzcostError
from ._common import add_format, dumps, parse_date, write

if TYPE_CHECKING:
    from ..ledger._writer import Ledger

__all__ = ["register"]

_URL_HELP = (
    "ledger URL or SQLite file (default: $AZCOST_LEDGER_URL, else ledger.db in the data dir)"
)


def _open(args: argparse.Namespace, *, create: bool = False) -> Ledger:
    """The ledger of ``args.url``; reading commands (``create=False``) never create one."""
    from ..ledger._writer import Ledger

    return Ledger(args.url, create=create)


def _by(value: str) -> str:
    from ..ledger._audit import DIMENSIONS

    if value in DIMENSIONS or (value.startswith("tag:") and len(value) > 4):
        return value
    raise argparse.ArgumentTypeError(
        f"cannot group by {value!r}; choose from {', '.join(DIMENSIONS)} or tag:KEY"
    )


def _positive(value: str) -> int:
    if value.isdigit() and int(value) > 0:
        return int(value)
    raise argparse.ArgumentTypeError(f"{value!r} is not a whole number above 0")


def register(commands: Any) -> None:
    """Add ``azcost audit`` and the ``azcost ledger`` group."""
    _register_audit(commands)
    _register_ledger(commands)


def _register_audit(commands: Any) -> None:
    a = commands.add_parser(
        "audit",
        help="spend from the ledger, grouped and totalled, exact",
        description=(
            "Spend grouped and totalled from the ledger. Example: "
            "azcost audit --by model --since 2026-11-01"
        ),
    )
    a.add_argument("url", nargs="?", metavar="URL", help=_URL_HELP)
    a.add_argument(
        "--by",
        action="append",
        type=_by,
        metavar="DIM",
        help="model, deployment, deployment-type, region, day, month, service-tier, match "
        "or tag:KEY "
        "(repeatable; default: model)",
    )
    day = "YYYY-MM-DD"
    a.add_argument("--since", type=parse_date, metavar=day, help="first day (UTC), included")
    a.add_argument("--until", type=parse_date, metavar=day, help="last day (UTC), included")
    a.add_argument("--model", metavar="M", help="only this model (versioned, or as reported)")
    a.add_argument(
        "--reprice",
        action="append",
        default=[],
        metavar="PRICING.yaml",
        help="also price the same usage with this table (repeatable; later files layer on top)",
    )
    a.add_argument(
        "--reprice-deployment-type", metavar="T", help="with --reprice: as this deployment type"
    )
    a.add_argument("--reprice-model", metavar="M", help="with --reprice: price as this model")
    a.add_argument("--html", metavar="FILE", help="also write a self-contained HTML report")
    add_format(a, "table", "csv", "json")
    a.set_defaults(run=_run_audit)


def _register_ledger(commands: Any) -> None:
    ledger = commands.add_parser("ledger", help="the spend ledger: import, export, path, stats")
    verbs = ledger.add_subparsers(dest="verb", metavar="VERB", required=True)

    imp = verbs.add_parser("import", help="add records from a JSONL file (idempotent)")
    imp.add_argument("file", metavar="FILE.jsonl", help="one CallRecord JSON object per line")
    imp.add_argument("url", nargs="?", metavar="URL", help=_URL_HELP)
    imp.add_argument(
        "--rejected", metavar="FILE", help="where refused lines go (default: FILE.jsonl.rejected)"
    )
    imp.add_argument("--quiet", "-q", action="store_true", help="no progress line")
    imp.set_defaults(run=_run_import)

    exp = verbs.add_parser("export", help="write every record, oldest first")
    exp.add_argument("url", nargs="?", metavar="URL", help=_URL_HELP)
    exp.add_argument("--output", "-o", metavar="FILE", help="write here instead of stdout")
    exp.add_argument("--quiet", "-q", action="store_true", help="no progress line")
    add_format(exp, "jsonl", "csv")
    exp.set_defaults(run=_run_export)

    path = verbs.add_parser("path", help="where the ledger is (file path, or the masked URL)")
    path.add_argument("url", nargs="?", metavar="URL", help=_URL_HELP)
    path.set_defaults(run=_run_path)

    stats = verbs.add_parser("stats", help="records, time span, spend, schema, spool")
    stats.add_argument("url", nargs="?", metavar="URL", help=_URL_HELP)
    add_format(stats, "text", "json")
    stats.set_defaults(run=_run_stats)
    _register_rollup(verbs)


def _register_rollup(verbs: Any) -> None:
    rollup = verbs.add_parser(
        "rollup",
        help="tag keys kept in a daily rollup, so audits by tag:KEY do not read every call",
    )
    actions = rollup.add_subparsers(dest="action", metavar="ACTION", required=True)
    add = actions.add_parser(
        "add", help="roll up a tag key, counting the calls already recorded (resumable)"
    )
    add.add_argument("key", metavar="KEY", help="tag or metadata key, as in --by tag:KEY")
    add.add_argument("url", nargs="?", metavar="URL", help=_URL_HELP)
    add.add_argument("--quiet", "-q", action="store_true", help="no progress line")
    add.add_argument(
        "--batch",
        type=_positive,
        default=100_000,
        metavar="N",
        help="earlier calls counted per transaction (default 100000)",
    )
    add.set_defaults(run=_run_rollup_add)
    listed = actions.add_parser("list", help="the tag keys rolled up, and whether each is ready")
    listed.add_argument("url", nargs="?", metavar="URL", help=_URL_HELP)
    add_format(listed, "text", "json")
    listed.set_defaults(run=_run_rollup_list)
    remove = actions.add_parser("remove", help="stop rolling up a tag key and drop its rollup")
    remove.add_argument("key", metavar="KEY", help="a key shown by `azcost ledger rollup list`")
    remove.add_argument("url", nargs="?", metavar="URL", help=_URL_HELP)
    remove.set_defaults(run=_run_rollup_remove)


def _run_audit(args: argparse.Namespace) -> int:
    from ..ledger._audit import Reprice, audit, render_csv, render_json_rows, render_table

    by: list[str] = args.by or ["model"]
    if (args.reprice_deployment_type or args.reprice_model) and not args.reprice:
        raise AzcostError("--reprice-deployment-type and --reprice-model need --reprice FILE")
    reprice = None
    if args.reprice:
        from ..pricing._load import load_pricing

        reprice = Reprice(
            load_pricing(*args.reprice),
            deployment_type=args.reprice_deployment_type,
            model=args.reprice_model,
        )
    with _open(args) as ledger:
        engine = ledger.read_engine()
        rows = audit(
            engine, by, since=args.since, until=args.until, model=args.model, reprice=reprice
        )
        if args.html:
            from ..ledger._html import write_report

            write_report(
                args.html, engine, rows, by, since=args.since, until=args.until, model=args.model
            )
    if args.format == "json":
        write(dumps(render_json_rows(rows, by)))
    elif args.format == "csv":
        sys.stdout.write(render_csv(rows, by))
    else:
        write(render_table(rows, by) if rows else "no records")
        write(f"source: {rows.source}: {rows.note}")
    return 0


def _run_import(args: argparse.Namespace) -> int:
    import os
    from pathlib import Path

    from ._progress import ProgressLine

    try:
        size = os.stat(args.file).st_size
    except OSError as exc:
        raise AzcostError(f"cannot read {args.file}: {exc.strerror}") from None
    progress = ProgressLine(total=size, quiet=args.quiet)
    rejected = None
    if args.rejected:  # checked now: it is only opened when a line is refused
        rejected = Path(args.rejected)
        if rejected.is_dir() or not rejected.parent.is_dir():
            problem = "is a folder" if rejected.is_dir() else "its folder does not exist"
            raise AzcostError(f"cannot write {rejected}: {problem}")
    try:
        with _open(args, create=True) as ledger:
            done = ledger.import_jsonl(args.file, rejected=rejected, progress=progress)
    finally:
        progress.done()
    for problem in done.problems:
        print(f"azcost: {problem}", file=sys.stderr)
    if done.rejected > len(done.problems):
        print(f"azcost: ... and {done.rejected - len(done.problems)} more", file=sys.stderr)
    summary = f"imported {done.added} record(s); {done.present} already present"
    if done.rejected:
        summary += f"; {done.rejected} line(s) rejected, kept in {done.rejected_path}"
    print(summary, file=sys.stderr)
    return 2 if done.rejected else 0


_CSV_JSON = ("tags", "metadata")


def _run_export(args: argparse.Namespace) -> int:
    from ..ledger._record import CallRecord
    from ..ledger._transfer import count_records, iter_records
    from ._progress import ProgressLine

    fields = list(CallRecord.__dataclass_fields__)
    out = sys.stdout
    handle = None
    progress: ProgressLine | None = None
    if args.output:
        try:
            handle = open(args.output, "w", encoding="utf-8", newline="")  # noqa: SIM115 - closed below
        except OSError as exc:
            raise AzcostError(f"cannot write {args.output}: {exc.strerror}") from None
        out = handle
    try:
        with _open(args) as ledger:
            engine = ledger.read_engine()
            progress = ProgressLine(total=count_records(engine), quiet=args.quiet)
            writer = None
            if args.format == "csv":
                writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
                writer.writeheader()
            for n, rec in enumerate(iter_records(engine), 1):
                if not n % 5000:
                    progress(n)
                if writer is None:
                    out.write(rec.to_json() + "\n")
                    continue
                row = rec.to_dict()
                for name in _CSV_JSON:
                    row[name] = json.dumps(row[name], separators=(",", ":"), sort_keys=True)
                writer.writerow(row)
    finally:
        if handle is not None:
            handle.close()
        if progress is not None:
            progress.done()
    return 0


def _run_path(args: argparse.Namespace) -> int:
    from ..ledger import display_url, resolve_url, sqlite_path

    url = resolve_url(args.url)
    path = sqlite_path(url)
    write(str(path) if path is not None else display_url(url))
    return 0


def _run_stats(args: argparse.Namespace) -> int:
    with _open(args) as ledger:
        stats = ledger.stats()
    if args.format == "json":
        write(dumps(stats))
        return 0
    buf = io.StringIO()
    for key, value in stats.items():
        if isinstance(value, dict):
            value = ", ".join(f"{v} {k}" for k, v in value.items()) or "0"
        elif isinstance(value, list):
            value = ", ".join(value)
        buf.write(f"{key + ':':<17}{'' if value is None else value}\n")
    write(buf.getvalue())
    return 0


def _run_rollup_add(args: argparse.Namespace) -> int:
    from ..ledger._rollup_tags import add_rollup_tags, backfill_rollup_tag, check_tag_key
    from ._progress import ProgressLine

    key = check_tag_key(args.key)
    progress = ProgressLine(quiet=args.quiet)
    with _open(args, create=True) as ledger:
        engine = ledger.engine
        add_rollup_tags(engine, [key])

        def report(done: int, total: int) -> None:
            progress.total = total
            progress(done)

        try:
            counted = backfill_rollup_tag(engine, key, batch=args.batch, progress=report)
        finally:
            progress.done()
    write(f"tag {key!r} rolled up; {counted} earlier call(s) counted now")
    return 0


def _run_rollup_list(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from ..ledger._rollup_tags import rollup_tags

    with _open(args) as ledger:
        tags = rollup_tags(ledger.read_engine())
    if args.format == "json":
        write(dumps([asdict(t) for t in tags]))
    elif not tags:
        write("no tag rolled up")
    for t in tags if args.format == "text" else ():
        state = "ready" if t.ready else f"backfill at run id {t.backfilled_through!r}"
        write(f"{t.key}\t{state}\tadded {t.added_at}")
    return 0


def _run_rollup_remove(args: argparse.Namespace) -> int:
    from ..ledger._rollup_tags import remove_rollup_tag

    with _open(args) as ledger:
        if not remove_rollup_tag(ledger.engine, args.key):
            raise AzcostError(f"tag {args.key!r} is not rolled up (azcost ledger rollup list)")
    write(f"tag {args.key!r} no longer rolled up; its rollup is dropped")
    return 0
