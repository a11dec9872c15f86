"""azcost demo: the cost callback on FakeAzureChatModel, offline, base dependencies only."""

from __future__ import annotations

import argparse
from typing import Any

from ..pricing._money import money_str
from ._common import add_format, dumps, write

__all__ = ["register"]

MESSAGES = [("system", "You are a helpful assistant."), ("human", "Hello!")]

# (label, mode, FakeAzureChatModel settings): what an Azure deployment would answer
SCENARIOS: list[tuple[str, str, dict[str, Any]]] = [
    *(
        (
            f"gpt-35-turbo 0301, {mode}",
            mode,
            {
                "model": "gpt-35-turbo",
                "model_version": "0301",
                "input_tokens": 31,
                "output_tokens": 8,
            },
        )
        for mode in ("invoke", "stream", "batch", "ainvoke")
    ),
    (
        "gpt-4o 2024-08-06, 400 cached",
        "invoke",
        {
            "deployment_name": "prod-chat",
            "model": "gpt-4o-2024-08-06",
            "model_version": "2024-08-06",
            "input_tokens": 1000,
            "cached_tokens": 400,
            "output_tokens": 100,
        },
    ),
    (
        "o1 2024-12-17, 300 reasoning",
        "stream",
        {
            "deployment_name": "reasoner",
            "model": "o1-2024-12-17",
            "input_tokens": 200,
            "output_tokens": 500,
            "reasoning_tokens": 300,
        },
    ),
    (
        "gpt-35-turbo 0401 (no such version)",
        "invoke",
        {"model": "gpt-35-turbo", "model_version": "0401", "input_tokens": 31, "output_tokens": 8},
    ),
]


def _call(llm: Any, mode: str) -> None:
    if mode == "invoke":
        llm.invoke(MESSAGES)
    elif mode == "stream":
        for _ in llm.stream(MESSAGES):
            pass
    elif mode == "batch":
        llm.batch([MESSAGES])
    else:
        import asyncio  # here, not at the top: `azcost price` must not pay for it

        asyncio.run(llm.ainvoke(MESSAGES))


def _run(args: argparse.Namespace) -> int:
    from .. import get_cost_callback, load_pricing
    from ..testing import FakeAzureChatModel

    table = load_pricing(*args.pricing) if args.pricing else load_pricing()
    calls: list[dict[str, Any]] = []
    with get_cost_callback(table, on_unknown="ignore") as total:
        for label, mode, settings in SCENARIOS:
            llm = FakeAzureChatModel(**settings)
            with get_cost_callback(table, on_unknown="ignore") as cb:
                _call(llm, mode)
            priced = next(iter(cb.by_model), None)
            calls.append(
                {
                    "call": label,
                    "mode": mode,
                    "model": priced,
                    "input_tokens": cb.prompt_tokens,
                    "cached_tokens": cb.prompt_tokens_cached,
                    "output_tokens": cb.completion_tokens,
                    "reasoning_tokens": cb.reasoning_tokens,
                    "cost": cb.total_cost if priced else None,
                    "unpriced": cb.unpriced_requests[0].reason if cb.unpriced_requests else None,
                }
            )
    if args.format == "json":
        write(dumps(_as_json(table, calls, total)))
        return 0
    write(
        f"azcost demo: LangChain calls on FakeAzureChatModel (offline), priced with "
        f"pricing table {table.version}\n"
    )
    width = max(len(c["call"]) for c in calls)
    write(
        f"{'call':<{width}}  {'in':>5} {'cached':>6} {'out':>5} {'reasoning':>9}  "
        f"cost ({table.currency})"
    )
    for c in calls:
        cost = money_str(c["cost"]) if c["cost"] is not None else "unpriced"
        write(
            f"{c['call']:<{width}}  {c['input_tokens']:>5} {c['cached_tokens']:>6} "
            f"{c['output_tokens']:>5} {c['reasoning_tokens']:>9}  {cost}"
        )
    write("\nper model version:\n")
    write(total.summary())
    return 0


def _as_json(table: Any, calls: list[dict[str, Any]], total: Any) -> dict[str, Any]:
    return {
        "pricing_version": table.version,
        "currency": table.currency,
        "calls": calls,
        "by_model": {
            name: {
                "requests": u.requests,
                "input_tokens": u.prompt_tokens,
                "cached_tokens": u.prompt_tokens_cached,
                "output_tokens": u.completion_tokens,
                "reasoning_tokens": u.reasoning_tokens,
                "cost": u.total_cost,
            }
            for name, u in sorted(total.by_model.items())
        },
        "total_cost": total.total_cost,
        "unpriced_requests": len(total.unpriced_requests),
    }


def register(commands: Any) -> None:
    """Add ``azcost demo``."""
    parser = commands.add_parser(
        "demo",
        help="price a few LangChain calls offline (FakeAzureChatModel), per model version",
        description=(
            "Run the README's example offline: LangChain calls on "
            "azcost.testing.FakeAzureChatModel inside get_cost_callback(), priced by model version."
        ),
    )
    parser.add_argument(
        "--pricing",
        action="append",
        default=[],
        metavar="FILE",
        help="price with this pricing file instead of the shipped table (repeatable)",
    )
    add_format(parser, "text", "json")
    parser.set_defaults(run=_run)
