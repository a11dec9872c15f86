"""PricingTable.cost: exact Decimal cost per token kind, period, deployment type and region."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import azcost
from azcost import DeploymentType, InvalidUsageError, NoPriceError, UnknownDeploymentTypeError

TOKENS = st.integers(min_value=0, max_value=10**9)
_MINI = Path(__file__).parent / "data" / "mini.yaml"  # hypothesis tests take no function fixtures


def test_gpt35_0301_example_costs_exactly_78_millionths(mini: azcost.PricingTable) -> None:
    cost = mini.cost("gpt-35-turbo", model_version="0301", input_tokens=31, output_tokens=8)
    assert cost.total == Decimal("0.000078")
    assert cost.model == "gpt-35-turbo-0301"
    assert cost.deployment_type is DeploymentType.REGIONAL
    assert cost.as_dict()["total_cost"] == "0.000078"


def test_cached_tokens_are_billed_at_the_cached_rate(mini: azcost.PricingTable) -> None:
    cost = mini.cost("gpt-4o", input_tokens=1000, cached_input_tokens=400, output_tokens=500)
    assert cost.input_cost == Decimal(600) * Decimal("2.50") / 10**6
    assert cost.cached_input_cost == Decimal(400) * Decimal("1.25") / 10**6
    assert cost.output_cost == Decimal(500) * Decimal("10.00") / 10**6
    assert cost.total == cost.input_cost + cost.cached_input_cost + cost.output_cost
    assert cost.total == Decimal("0.0070")


def test_reasoning_tokens_are_billed_as_output(mini: azcost.PricingTable) -> None:
    without = mini.cost("o1", input_tokens=100, output_tokens=1000)
    with_reasoning = mini.cost("o1", input_tokens=100, output_tokens=1000, reasoning_tokens=800)
    assert with_reasoning.total == without.total == Decimal("0.0615")
    assert with_reasoning.reasoning_tokens == 800


def test_embedding_costs_input_only(mini: azcost.PricingTable) -> None:
    cost = mini.cost("text-embedding-3-small", input_tokens=1_000_000, output_tokens=0)
    assert cost.total == Decimal("0.02")


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (dt.date(2024, 1, 25), "0.00125"),
        (dt.date(2025, 8, 31), "0.00125"),
        (dt.date(2025, 9, 1), "0.001375"),
        (dt.datetime(2025, 9, 1, 0, 0, 1, tzinfo=dt.timezone.utc), "0.001375"),
        (dt.datetime(2030, 1, 1), "0.001375"),
    ],
)
def test_at_selects_the_period_in_force(
    mini: azcost.PricingTable, day: dt.date, expected: str
) -> None:
    cost = mini.cost("gpt-35-turbo-0125", input_tokens=1000, output_tokens=500, at=day)
    assert cost.total == Decimal(expected)


def test_default_at_is_now(mini: azcost.PricingTable) -> None:
    cost = mini.cost("gpt-35-turbo-0125", input_tokens=1000, output_tokens=500)
    assert cost.period.effective_from == dt.date(2025, 9, 1)


def test_call_before_the_first_period_has_no_price(mini: azcost.PricingTable) -> None:
    with pytest.raises(NoPriceError, match="first period starts 2024-01-25"):
        mini.cost("gpt-35-turbo-0125", input_tokens=1, output_tokens=1, at=dt.date(2023, 1, 1))


def test_region_specific_series_wins_in_its_region(mini: azcost.PricingTable) -> None:
    sweden = mini.cost(
        "gpt-35-turbo-0125", input_tokens=1000, output_tokens=500, region="SwedenCentral"
    )
    assert sweden.region == "swedencentral"
    assert sweden.total == Decimal("0.0015")


def test_region_without_its_own_series_uses_the_regionless_one(mini: azcost.PricingTable) -> None:
    cost = mini.cost("gpt-35-turbo-0125", input_tokens=1000, output_tokens=500, region="eastus")
    assert cost.region is None
    assert cost.total == Decimal("0.001375")


@pytest.mark.parametrize("name", ["global-batch", "GlobalBatch", "GLOBALBATCH", " global_batch "])
def test_deployment_type_accepts_sku_and_short_names(mini: azcost.PricingTable, name: str) -> None:
    cost = mini.cost("gpt-4o", input_tokens=1000, output_tokens=0, deployment_type=name)
    assert cost.deployment_type is DeploymentType.GLOBAL_BATCH
    assert cost.total == Decimal("0.00125")


def test_unsold_deployment_type_says_what_is_sold(mini: azcost.PricingTable) -> None:
    with pytest.raises(NoPriceError, match=r"no data-zone price .*priced: global, global-batch"):
        mini.cost("gpt-4o", input_tokens=1, output_tokens=1, deployment_type="DataZoneStandard")


def test_unknown_deployment_type_is_an_error(mini: azcost.PricingTable) -> None:
    with pytest.raises(UnknownDeploymentTypeError, match="'provisioned'"):
        mini.cost("gpt-4o", input_tokens=1, output_tokens=1, deployment_type="provisioned")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"input_tokens": -1, "output_tokens": 0},
        {"input_tokens": 1.5, "output_tokens": 0},
        {"input_tokens": 10, "output_tokens": 0, "cached_input_tokens": 11},
        {"input_tokens": 10, "output_tokens": 5, "reasoning_tokens": 6},
        {"input_tokens": True, "output_tokens": 0},
    ],
)
def test_inconsistent_token_counts_are_refused(
    mini: azcost.PricingTable, kwargs: dict[str, object]
) -> None:
    with pytest.raises(InvalidUsageError):
        mini.cost("gpt-4o", **kwargs)  # type: ignore[arg-type]


def test_cost_reports_table_version_period_and_source(mini: azcost.PricingTable) -> None:
    cost = mini.cost("gpt-4o", input_tokens=1, output_tokens=1)
    assert cost.table_version == "2026.01.01"
    assert cost.currency == "USD"
    assert cost.period.source.url == "https://example.invalid/azcost-tests"
    assert cost.resolution.assumed


@settings(deadline=None)  # each example loads a table: slow on a busy machine
@given(i=TOKENS, c=TOKENS, o=TOKENS)
def test_cost_is_exact_decimal_arithmetic(i: int, c: int, o: int) -> None:
    table = azcost.load_pricing(_MINI)
    i += c
    cost = table.cost("gpt-4o-2024-08-06", input_tokens=i, cached_input_tokens=c, output_tokens=o)
    expected = ((i - c) * Decimal("2.50") + c * Decimal("1.25") + o * Decimal("10.00")) / Decimal(
        10**6
    )
    assert cost.total == expected


@settings(deadline=None)  # each example loads a table: slow on a busy machine
@given(i1=TOKENS, o1=TOKENS, i2=TOKENS, o2=TOKENS, k=st.integers(min_value=0, max_value=1000))
def test_cost_is_linear_in_token_counts(i1: int, o1: int, i2: int, o2: int, k: int) -> None:
    table = azcost.load_pricing(_MINI)

    def total(i: int, o: int) -> Decimal:
        return table.cost("gpt-35-turbo-0125", input_tokens=i, output_tokens=o).total

    assert total(i1 + i2, o1 + o2) == total(i1, o1) + total(i2, o2)
    assert total(k * i1, k * o1) == k * total(i1, o1)


def test_thousand_small_costs_sum_exactly(mini: azcost.PricingTable) -> None:
    one = mini.cost("gpt-35-turbo-0301", input_tokens=1, output_tokens=0).total
    assert sum((one for _ in range(1000)), Decimal(0)) == Decimal("0.002")
