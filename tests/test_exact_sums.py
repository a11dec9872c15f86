"""Totals are exact whatever the caller's decimal context: callback, ledger audit, reconcile."""

from __future__ import annotations

import datetime as dt
import decimal
import tempfile
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import cost_exports as ce
from hypothesis import given, settings
from hypothesis import strategies as st
from ledger_helpers import make_record, sqlite_url

import azcost
from azcost.invoice import reconcile
from azcost.ledger import MAX_COST, MAX_COST_PLACES, Ledger, audit, total_by_currency
from azcost.testing import FakeAzureChatModel

# beyond the ledger's per-record bound (MAX_TOKENS): the callback's sums are exact up to
# the BIGINT token columns' limit
TOKENS = st.integers(min_value=0, max_value=2**63 - 1)
# per-1M-token rates of up to 45 significant digits and 40 decimal places
RATES = st.builds(
    lambda k, places: Decimal(f"{k}e-{places}"),  # exact: scaleb would round
    st.integers(min_value=0, max_value=10**45),
    st.integers(min_value=0, max_value=40),
)
# recorded costs of 29 to 49 significant digits (beyond the default 28-digit context),
# PLACES places, below the ledger's MAX_COST and MAX_COST_PLACES
PLACES = min(40, MAX_COST_PLACES)
COSTS = st.integers(min_value=10**28, max_value=int(MAX_COST) * 10**PLACES - 1).map(
    lambda k: Decimal(f"{k}e-{PLACES}")  # exact: scaleb would round to 28 digits
)
MODELS = ("gpt-exact-0001", "gpt-exact-0002")
SMALL_CONTEXT = decimal.Context(prec=5)  # the caller's context: any arithmetic in it rounds


def _pricing_yaml(rates: dict[str, tuple[Decimal, Decimal]]) -> str:
    lines = [
        "schema_version: 1",
        'version: "2026.01.01"',
        "currency: USD",
        "sources:",
        "  test:",
        "    title: azcost exactness test",
        "    url: https://example.invalid/azcost-exact",
        "    retrieved_on: 2026-01-01",
        "models:",
    ]
    for name, (rate_in, rate_out) in rates.items():
        base, _, version = name.rpartition("-")
        lines += [
            f"  {name}:",
            f"    base: {base}",
            f'    version: "{version}"',
            "    default_deployment_type: regional",
            "    prices:",
            "      - deployment_type: regional",
            "        periods:",
            "          - effective_from: 2020-01-01",
            f"            input_per_mtok: {rate_in:f}",
            f"            output_per_mtok: {rate_out:f}",
            "            source: test",
        ]
    return "\n".join(lines) + "\n"


def _exact(value: Decimal) -> Fraction:
    return Fraction(value)


@settings(max_examples=20, deadline=None)
@given(
    rates=st.tuples(RATES, RATES, RATES, RATES),
    calls=st.lists(st.tuples(st.sampled_from(MODELS), TOKENS, TOKENS), min_size=1, max_size=6),
)
def test_callback_totals_are_the_exact_sum_of_huge_calls_under_a_5_digit_context(
    rates: tuple[Decimal, Decimal, Decimal, Decimal], calls: list[tuple[str, int, int]]
) -> None:
    table_rates = {MODELS[0]: rates[:2], MODELS[1]: rates[2:]}
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "pricing.yaml"
        path.write_text(_pricing_yaml(table_rates), encoding="utf-8")
        table = azcost.load_pricing(path)
    expected: dict[str, Fraction] = {}
    with decimal.localcontext(SMALL_CONTEXT), azcost.get_cost_callback(table) as cb:
        for model, n_in, n_out in calls:
            llm = FakeAzureChatModel(model=model, input_tokens=n_in, output_tokens=n_out)
            llm.invoke("x")
            rate_in, rate_out = table_rates[model]
            cost = (n_in * _exact(rate_in) + n_out * _exact(rate_out)) / 10**6
            expected[model] = expected.get(model, Fraction(0)) + cost
    assert not cb.unpriced_requests
    assert _exact(cb.total_cost) == sum(expected.values())
    assert {m: _exact(u.total_cost) for m, u in cb.by_model.items()} == expected


@settings(max_examples=15, deadline=None)
@given(costs=st.lists(COSTS, min_size=1, max_size=8))
def test_ledger_audit_total_is_the_exact_sum_of_costs_beyond_28_digits(
    costs: list[Decimal],
) -> None:
    with (
        tempfile.TemporaryDirectory() as folder,
        Ledger(sqlite_url(Path(folder) / "spend.db")) as ledger,
    ):
        for i, c in enumerate(costs):
            ledger.record(make_record(i, total=format(c, "f"), model=f"m{i % 2}"))
        with decimal.localcontext(SMALL_CONTEXT):
            rows = audit(ledger.read_engine(), by=("model",))
            totals = total_by_currency(ledger.read_engine())
    exact = sum((_exact(c) for c in costs), Fraction(0))
    assert sum((_exact(r.total_cost) for r in rows), Fraction(0)) == exact
    assert _exact(Decimal(totals["USD"])) == exact


@settings(max_examples=10, deadline=None)
@given(costs=st.lists(COSTS, min_size=1, max_size=5))
def test_reconcile_billed_total_is_the_exact_sum_of_the_export_costs(
    costs: list[Decimal],
) -> None:
    meter = "gpt-4o-0806-Inp-glbl Tokens"
    usages = [
        ce.Usage(dt.date(2026, 11, 1 + i), meter, "1000", format(c, "f"))
        for i, c in enumerate(costs)
    ]
    with tempfile.TemporaryDirectory() as folder:
        url = sqlite_url(Path(folder) / "spend.db")
        with Ledger(url) as ledger:  # an empty ledger: reconcile reads one, never creates it
            assert ledger.engine is not None
        export = ce.ea(Path(folder) / "export.csv", usages)
        with decimal.localcontext(SMALL_CONTEXT):
            result = reconcile([export], url, by="month")
    billed = result.totals["billed_cost"]
    assert billed is not None
    assert _exact(billed) == sum((_exact(c) for c in costs), Fraction(0))
    (row,) = result.rows
    assert _exact(row.billed_cost) == sum((_exact(c) for c in costs), Fraction(0))
