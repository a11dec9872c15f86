"""Pricing core benchmark: table load, cost() per call, import time, `azcost price` process.

Run: .venv/bin/python bench/bench_pricing.py [--quick]
     .venv/bin/python bench/bench_pricing.py --compare A.yaml B.yaml ...  (parse and validate
     each table, alternated, best of 15, CPU time: tables of different sizes in one run)

In-process figures (table load, cost()) are CPU time of the measuring thread
(``time.thread_time``), best of several runs, so a loaded machine does not inflate them;
whole-process figures (import, `azcost price`) are wall time, medians.

Every figure is printed beside its anchor from the same run:
- cost(): genai-prices' calc_price, LangChain community's get_openai_token_cost_for_model,
  and the floor (a bare dict lookup plus Decimal arithmetic);
- import: `import langchain_core.callbacks`;
- goals from the issue: <= 2 us per cost, <= 30 ms to parse and validate the shipped table,
  import <= 1.1x langchain_core.callbacks, `azcost price` process <= 150 ms.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
import warnings
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from azcost.pricing import PricingTable

QUICK = "--quick" in sys.argv
REPEAT = 3 if QUICK else 7


CPU = time.thread_time  # the timer of every in-process figure


def per_call_us(fn: Any, number: int) -> float:
    """Best of REPEAT runs, microseconds of CPU time per call."""
    times = timeit.repeat(fn, number=number, repeat=REPEAT, timer=CPU)
    return min(times) / number * 1e6


def process_ms(args: list[str], env: dict[str, str] | None = None, runs: int = 0) -> float:
    """Median wall time of a whole process, milliseconds (first run discarded as warm-up)."""
    runs = runs or (5 if QUICK else 15)
    samples = []
    for i in range(runs + 1):
        start = time.perf_counter()
        subprocess.run(args, check=True, capture_output=True, env=env)
        if i:
            samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def row(label: str, ours: float, anchor_label: str, anchor: float, unit: str, goal: str) -> None:
    ratio = ours / anchor if anchor else float("nan")
    print(
        f"{label:<34} {ours:>9.2f} {unit:<3} | {anchor_label:<42} {anchor:>9.2f} {unit:<3} "
        f"| ratio {ratio:5.2f} | goal {goal}"
    )


def bench_load() -> PricingTable:
    """Shipped table: parse + validate (no cache) and from the compiled cache; the table."""
    import azcost
    from azcost.pricing import PricingTable, compile_file, shipped_pricing_paths

    paths = shipped_pricing_paths()
    compile_file(paths[0], use_cache=False)  # warm imports (pydantic, yaml)

    def fresh() -> None:
        PricingTable([compile_file(p, use_cache=False) for p in paths])

    def cached() -> None:
        PricingTable([compile_file(p) for p in paths])

    cached()  # writes the cache
    load_ms = min(timeit.repeat(fresh, number=1, repeat=REPEAT * 4, timer=CPU)) * 1000
    cached_ms = min(timeit.repeat(cached, number=1, repeat=REPEAT * 4, timer=CPU)) * 1000
    size = sum(p.stat().st_size for p in paths)
    table = azcost.load_pricing()
    print(f"shipped table: {len(table)} model versions, {size / 1024:.0f} KiB of YAML")
    row(
        "load: parse + validate (CPU ms)",
        load_ms,
        "load from compiled cache (CPU ms)",
        cached_ms,
        "ms",
        "<= 30 ms",
    )
    print()
    return table


def cost_anchors(n: int) -> tuple[float, float, float, str]:
    """CPU us per call of the floor, genai-prices and LangChain; their totals, printable."""
    rates = {"gpt-4o": (Decimal("2.50").scaleb(-6), Decimal("10.00").scaleb(-6))}

    def floor() -> Decimal:
        i, o = rates["gpt-4o"]
        return 1000 * i + 500 * o

    floor_us = per_call_us(floor, n)

    from genai_prices import Usage, calc_price

    usage = Usage(input_tokens=1000, output_tokens=500)
    genai_us = per_call_us(
        lambda: calc_price(usage, model_ref="gpt-4o", provider_id="azure"), n // 20
    )

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from langchain_community.callbacks.openai_info import (
            TokenType,
            get_openai_token_cost_for_model,
        )

    def langchain() -> float:
        return get_openai_token_cost_for_model("gpt-4o", 1000) + get_openai_token_cost_for_model(
            "gpt-4o", 500, token_type=TokenType.COMPLETION
        )

    lc_us = per_call_us(langchain, n)
    totals = (
        f"genai-prices {calc_price(usage, model_ref='gpt-4o', provider_id='azure').total_price}, "
        f"langchain {langchain()!r}"
    )
    return floor_us, genai_us, lc_us, totals


def bench_cost(table: PricingTable) -> None:
    """cost() per call, gpt-4o, 1000 in / 500 out, beside its anchors."""
    n = 20_000 if QUICK else 100_000
    ours = per_call_us(lambda: table.cost("gpt-4o", input_tokens=1000, output_tokens=500), n)
    ours_versioned = per_call_us(
        lambda: table.cost(
            "gpt-4o", model_version="2024-08-06", input_tokens=1000, output_tokens=500
        ),
        n,
    )
    floor_us, genai_us, lc_us, anchor_totals = cost_anchors(n)
    print("cost of one gpt-4o call (1000 input / 500 output tokens), CPU microseconds per call:")
    row(
        "azcost cost()", ours, "genai-prices calc_price (provider azure)", genai_us, "us", "<= 2 us"
    )
    row(
        "azcost cost(model_version=...)",
        ours_versioned,
        "langchain-community get_openai_token_cost",
        lc_us,
        "us",
        "<= 2 us",
    )
    row("azcost cost()", ours, "floor: dict lookup + Decimal arithmetic", floor_us, "us", "(floor)")
    ours_parts = per_call_us(
        lambda: table.cost("gpt-4o", input_tokens=1000, output_tokens=500, cached_input_tokens=400),
        n,
    )
    row(
        "azcost cost(+400 cached tokens)",
        ours_parts,
        "floor: dict lookup + Decimal arithmetic",
        floor_us,
        "us",
        "(a part)",
    )
    ours_tier = per_call_us(
        lambda: table.cost("gpt-5", input_tokens=1000, output_tokens=500, service_tier="priority"),
        n,
    )
    row(
        "azcost cost(gpt-5, priority tier)",
        ours_tier,
        "floor: dict lookup + Decimal arithmetic",
        floor_us,
        "us",
        "<= 2 us",
    )
    print(
        f"  totals: azcost {table.cost('gpt-4o', input_tokens=1000, output_tokens=500).total} "
        f"(gpt-4o resolves to {table.resolve('gpt-4o').model}, assumed), "
        f"{anchor_totals}"
    )
    print()


def bench_import() -> float:
    """Import time, as whole processes (median), minus a bare interpreter start; that start."""
    py = sys.executable
    bare = process_ms([py, "-c", "pass"])
    imp_ours = process_ms([py, "-c", "import azcost"]) - bare
    imp_full = process_ms([py, "-c", "import azcost; azcost.get_cost_callback"]) - bare
    imp_lc = process_ms([py, "-c", "import langchain_core.callbacks"]) - bare
    row(
        "import azcost (ms)",
        imp_ours,
        "import langchain_core.callbacks (ms)",
        imp_lc,
        "ms",
        "<= 1.1x",
    )
    row(
        "import azcost + callback (ms)",
        imp_full,
        "import langchain_core.callbacks (ms)",
        imp_lc,
        "ms",
        "(for scale)",
    )
    heavy = subprocess.run(
        [
            py,
            "-c",
            "import sys, azcost; print(sorted(m for m in ('langchain_community', 'openai', "
            "'sqlalchemy', 'pydantic', 'yaml') if m in sys.modules))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    print(f"  heavy modules after `import azcost`: {heavy}")
    print()
    return bare


def bench_price_process(bare: float) -> None:
    """`azcost price` as a whole process (warm compiled cache, then cold)."""
    exe = str(Path(sys.executable).with_name("azcost"))
    argv = [exe, "price", "gpt-35-turbo-0301", "--input", "31", "--output", "8"]
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "AZCOST_HOME": home}
        warm = process_ms(argv, env)
        cold_env = {**env, "AZCOST_NO_CACHE": "1"}
        cold = process_ms(argv, cold_env)
    row("`azcost price` process (ms)", warm, "same, cache disabled (ms)", cold, "ms", "<= 150 ms")
    print(f"  python -c pass: {bare:.1f} ms")


def main() -> None:
    """Every section, in order, each figure beside its anchor."""
    import azcost

    print(f"azcost {azcost.__version__}, Python {sys.version.split()[0]}, {os.cpu_count()} cores")
    print()
    table = bench_load()
    bench_cost(table)
    bench_price_process(bench_import())


def compare(paths: list[str]) -> None:
    """Parse and validate each table (no cache), alternated, best of 15, CPU milliseconds."""
    from azcost.pricing import compile_file

    for p in paths:
        compile_file(p, use_cache=False)
    best = dict.fromkeys(paths, float("inf"))
    for _ in range(15):
        for p in paths:
            start = CPU()
            compile_file(p, use_cache=False)
            best[p] = min(best[p], CPU() - start)
    for p in paths:
        print(f"{p}: {Path(p).stat().st_size / 1024:.0f} KiB, {best[p] * 1000:.1f} ms CPU")


if __name__ == "__main__":
    if "--compare" in sys.argv:
        compare(sys.argv[sys.argv.index("--compare") + 1 :])
    else:
        main()
