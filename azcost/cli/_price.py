"""``azcost price`` and ``azcost pricing validate|show|list|schema``."""

from __future__ import annotations

import argparse
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import AzcostError
from ..pricing._kinds import DETAIL_KINDS, KINDS
from ..pricing._money import money_str
from ..pricing._records import Period
from ..pricing._tiers import TIER_NAMES
from ._common import add_format, dumps, parse_date, write

if TYPE_CHECKING:
    from ..pricing._table import PricingTable

__all__ = ["register_price", "register_pricing"]


def _add_pricing_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--pricing",
        metavar="FILE",
        action="append",
        default=[],
        help="pricing file layered over the shipped table (repeatable; later files win)",
    )
    parser.add_argument(
        "--no-shipped",
        action="store_true",
        help="use only the --pricing files, not the shipped table under them",
    )


def table_from_args(args: argparse.Namespace) -> PricingTable:
    """The shipped table, with any ``--pricing`` files layered on top."""
    from ..pricing._load import load_pricing, shipped_pricing_paths

    extra: list[str] = list(args.pricing)
    if args.no_shipped:
        if not extra:
            raise AzcostError("--no-shipped needs at least one --pricing FILE")
        return load_pricing(*extra)
    if not extra:
        return load_pricing()
    return load_pricing(*shipped_pricing_paths(), *extra)


def register_price(commands: Any) -> None:
    """Add ``azcost price``."""
    p = commands.add_parser(
        "price",
        help="price one call: tokens in, exact cost out",
        description="Price one call exactly, e.g. "
        "azcost price gpt-35-turbo-0301 --input 31 --output 8",
    )
    p.add_argument(
        "model", help="model name as the client reports it (gpt-4o, gpt-35-turbo-0301, ...)"
    )
    p.add_argument(
        "--input", type=int, required=True, metavar="N", help="input tokens, cached included"
    )
    p.add_argument(
        "--output", type=int, required=True, metavar="N", help="output tokens, reasoning included"
    )
    for kind in DETAIL_KINDS:
        flag = "--" + kind.name.replace("_", "-")
        names = [flag, "--cached"] if kind.name == "cached_input" else [flag]
        p.add_argument(
            *names,
            dest=kind.token_field,
            type=int,
            default=0,
            metavar="N",
            help=f"{kind.label} tokens (part of --{kind.side})",
        )
    p.add_argument(
        "--reasoning", type=int, default=0, metavar="N", help="reasoning tokens (part of output)"
    )
    p.add_argument(
        "--model-version", metavar="V", help="model version to append (0301, 2024-08-06)"
    )
    p.add_argument(
        "--deployment-type",
        metavar="T",
        help="global, data-zone, regional, ... or Azure's SKU name",
    )
    p.add_argument(
        "--region", metavar="R", help="Azure region, where prices differ (swedencentral)"
    )
    p.add_argument(
        "--at", type=parse_date, metavar="YYYY-MM-DD", help="price in force that day (default: now)"
    )
    p.add_argument(
        "--service-tier",
        metavar="TIER",
        help=f"service tier the call ran on: default (standard), {', '.join(TIER_NAMES)}; "
        "a tier the table has no rates for is an error, never the standard price",
    )
    _add_pricing_option(p)
    add_format(p, "text", "json")
    p.set_defaults(run=_run_price)


def _run_price(args: argparse.Namespace) -> int:
    table = table_from_args(args)
    cost = table.cost(
        args.model,
        input_tokens=args.input,
        output_tokens=args.output,
        reasoning_tokens=args.reasoning,
        model_version=args.model_version,
        deployment_type=args.deployment_type,
        region=args.region,
        at=args.at,
        service_tier=args.service_tier,
        **{k.token_field: n for k in DETAIL_KINDS if (n := getattr(args, k.token_field))},
    )
    data = cost.as_dict()
    if args.format == "json":
        write(dumps(data))
        return 0
    where = cost.deployment_type.value + (f" in {cost.region}" if cost.region else "")
    lines = [f"{money_str(cost.total)} {cost.currency}"]
    lines.append(
        f"  model        {cost.model} ({cost.resolution.match.value}"
        + (", version assumed" if cost.resolution.assumed else "")
        + ")"
    )
    lines.append(f"  deployment   {where}")
    lines.append(f"  tier         {cost.service_tier}")
    period = cost.period
    lines.append(f"  rates from   {period.effective_from} ({period.source.id})")
    lines.append(f"  table        {cost.table_version}")
    width = max(len(k.label) for k in KINDS)
    for kind, tokens, amount in zip(KINDS, cost.billed_tokens(), cost.amounts(), strict=True):
        if tokens:
            lines.append(f"  {kind.label:<{width}} {tokens:>10} tokens  {money_str(amount)}")
    write("\n".join(lines))
    return 0


def register_pricing(verbs: Any) -> None:
    """Add ``azcost pricing validate|show|list|schema``."""
    p = verbs.add_parser(
        "validate", help="check pricing files strictly (default: the shipped tables)"
    )
    p.add_argument("files", nargs="*", metavar="FILE")
    p.set_defaults(run=_run_validate)

    p = verbs.add_parser("show", help="a model's price history per deployment type")
    p.add_argument("model")
    _add_pricing_option(p)
    add_format(p, "text", "json")
    p.set_defaults(run=_run_show)

    p = verbs.add_parser("list", help="every model version in the table")
    _add_pricing_option(p)
    add_format(p, "text", "json")
    p.set_defaults(run=_run_list)

    p = verbs.add_parser("schema", help="print the JSON Schema of pricing files")
    p.set_defaults(run=_run_schema)


def _run_validate(args: argparse.Namespace) -> int:
    from ..pricing._load import shipped_pricing_paths, validate_files

    files = [Path(f) for f in args.files] or shipped_pricing_paths()
    problems = validate_files(files)
    if problems:
        first = problems[0]
        first.others = problems[1:]
        raise first
    for f in files:
        write(f"ok {f}")
    return 0


def _run_show(args: argparse.Namespace) -> int:
    table = table_from_args(args)
    resolution = table.resolve(args.model)
    entry = table.models[resolution.model]
    if args.format == "json":
        data = _plain(entry)
        data["model"] = data.pop("name")
        data["resolved_from"] = args.model
        data["match"] = resolution.match.value
        write(dumps(data))
        return 0
    default = entry.default_deployment_type.value
    lines = [f"{resolution.model}  ({entry.kind}; default deployment {default})"]
    if resolution.model != args.model:
        lines.append(f"  resolved from {args.model!r} ({resolution.match.value})")
    if entry.aliases:
        lines.append("  aliases: " + ", ".join(entry.aliases))
    if entry.retired_on:
        lines.append(f"  retired on {entry.retired_on}")
    lines.append(f"  prices per 1M tokens, {table.currency}:")
    for series in entry.prices:
        where = series.deployment_type.value + (f" @ {series.region}" if series.region else "")
        lines.append(f"  {where}")
        for period in series.periods:
            rates = _rates_text(period.rates)
            lines.append(f"    from {period.effective_from}  {rates}  [{period.source.id}]")
            lines.extend(f"      {tier} tier: {_rates_text(r)}" for tier, r in period.tiers)
    write("\n".join(lines))
    return 0


def _rates_text(rates: tuple[Decimal | None, ...]) -> str:
    """``input 2.50, cached input 1.25, output 10.00``: the rates a period sells."""
    return ", ".join(
        f"{kind.label} {money_str(rate)}"
        for kind, rate in zip(KINDS, rates, strict=True)
        if rate is not None
    )


def _plain(value: Any) -> Any:
    """Records (named tuples) to dicts, recursively, for JSON; a period's rates by field."""
    if isinstance(value, Period):
        out: dict[str, Any] = {"effective_from": value.effective_from, **value.rate_fields()}
        out["service_tiers"] = value.tier_rate_fields()
        return {**out, "source": _plain(value.source), "note": value.note}
    if hasattr(value, "_asdict"):
        return {k: _plain(v) for k, v in value._asdict().items()}
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    return value


def _run_list(args: argparse.Namespace) -> int:
    table = table_from_args(args)
    rows: list[dict[str, Any]] = []
    for name, entry in table.models.items():
        rows.append(
            {
                "model": name,
                "base": entry.base,
                "version": entry.version,
                "kind": entry.kind,
                "default_for_base": entry.default_for_base,
                "default_deployment_type": entry.default_deployment_type.value,
                "deployment_types": [t.value for t in table.deployment_types(name)],
                "retired_on": entry.retired_on,
                "aliases": entry.aliases,
            }
        )
    if args.format == "json":
        write(dumps(rows))
        return 0
    width = max((len(r["model"]) for r in rows), default=10)
    lines = [f"# table {table.version}, {len(rows)} model versions"]
    for r in rows:
        mark = "*" if r["default_for_base"] else " "
        retired = f"  retired {r['retired_on']}" if r["retired_on"] else ""
        lines.append(f"{r['model']:<{width}} {mark} {', '.join(r['deployment_types'])}{retired}")
    lines.append("(* = the version a bare base name resolves to)")
    write("\n".join(lines))
    return 0


def _run_schema(args: argparse.Namespace) -> int:
    from ..pricing._schema import json_schema

    write(dumps(json_schema()))
    return 0
