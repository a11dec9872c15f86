"""Token kinds: each priced at its own rate, never at another kind's; one table drives all."""

from __future__ import annotations

import datetime as dt
import decimal
import json
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import azcost
from azcost import InvalidUsageError, NoPriceError
from azcost.pricing import (
    KINDS,
    CompiledFile,
    DeploymentType,
    ModelInfo,
    Period,
    PricingTable,
    SeriesInfo,
    SourceInfo,
    TokenKind,
)

_KINDS_FILE = Path(__file__).parent / "data" / "kinds.yaml"
_DETAILS = [k for k in KINDS if not k.is_total]
_RATE_OF = {k.name: Decimal(i + 1) for i, k in enumerate(KINDS)}  # as in kinds.yaml


def _part(kind: TokenKind, n: int) -> dict[str, Any]:
    """``{token_field: n}`` typed for keyword unpacking into ``cost()``."""
    return {kind.token_field: n}


@pytest.fixture
def kinds() -> azcost.PricingTable:
    return azcost.load_pricing(_KINDS_FILE)


def test_each_kind_names_its_rate_token_and_cost_fields() -> None:
    audio = next(k for k in KINDS if k.name == "cached_audio_input")
    assert (audio.rate_field, audio.token_field, audio.cost_field, audio.side) == (
        "cached_audio_input_per_mtok",
        "cached_audio_input_tokens",
        "cached_audio_input_cost",
        "input",
    )
    assert [k.name for k in KINDS if k.is_total] == ["input", "output"]


@pytest.mark.parametrize("kind", _DETAILS, ids=lambda k: k.name)
def test_every_part_is_billed_at_its_own_rate(kinds: azcost.PricingTable, kind: TokenKind) -> None:
    cost = kinds.cost("every-kind-1", input_tokens=1000, output_tokens=1000, **_part(kind, 400))
    base = "input" if kind.side == "input" else "output"
    rest = {"input": 1000, "output": 1000}
    rest[base] -= 400
    expected = (
        rest["input"] * _RATE_OF["input"]
        + rest["output"] * _RATE_OF["output"]
        + 400 * _RATE_OF[kind.name]
    ) / 10**6
    assert cost.total == expected
    assert cost.amount(kind.name) == 400 * _RATE_OF[kind.name] / 10**6
    assert getattr(cost, kind.cost_field) == cost.amount(kind.name)
    assert getattr(cost, kind.token_field) == 400
    assert sum(cost.amounts()) == cost.total


@pytest.mark.parametrize("kind", _DETAILS, ids=lambda k: k.name)
def test_a_part_without_a_rate_is_not_priced_at_another_rate(
    kinds: azcost.PricingTable, kind: TokenKind
) -> None:
    with pytest.raises(NoPriceError, match=rf"5 {kind.label} tokens.*no {kind.rate_field}"):
        kinds.cost("text-only-1", input_tokens=10, output_tokens=10, **_part(kind, 5))


def test_cached_input_without_a_cached_rate_is_unpriced(mini: azcost.PricingTable) -> None:
    with pytest.raises(NoPriceError, match=r"60 cached input tokens.*no cached_input_per_mtok"):
        mini.cost("gpt-35-turbo-0301", input_tokens=100, cached_input_tokens=60, output_tokens=0)


def test_a_zero_count_of_an_unsold_kind_prices_normally(kinds: azcost.PricingTable) -> None:
    cost = kinds.cost("text-only-1", input_tokens=10, output_tokens=10, audio_input_tokens=0)
    assert cost.total == Decimal("0.00004")


def test_output_of_a_model_without_an_output_rate_is_unpriced(kinds: azcost.PricingTable) -> None:
    assert kinds.cost("embed-1", input_tokens=10**6, output_tokens=0).total == Decimal("0.02")
    with pytest.raises(NoPriceError, match=r"3 output tokens.*no output_per_mtok"):
        kinds.cost("embed-1", input_tokens=10, output_tokens=3)


def test_parts_of_one_side_may_not_exceed_its_total(kinds: azcost.PricingTable) -> None:
    with pytest.raises(InvalidUsageError, match="exceed input_tokens"):
        kinds.cost(
            "every-kind-1",
            input_tokens=10,
            output_tokens=0,
            cached_input_tokens=6,
            image_input_tokens=5,
        )
    with pytest.raises(InvalidUsageError, match="exceed output_tokens"):
        kinds.cost(
            "every-kind-1",
            input_tokens=0,
            output_tokens=4,
            audio_output_tokens=3,
            image_output_tokens=2,
        )


def test_an_unknown_token_kind_is_refused(kinds: azcost.PricingTable) -> None:
    with pytest.raises(InvalidUsageError, match="unknown token kind 'video_input_tokens'"):
        kinds.cost("every-kind-1", input_tokens=10, output_tokens=0, video_input_tokens=1)


def test_as_dict_has_tokens_and_cost_of_every_kind(kinds: azcost.PricingTable) -> None:
    data = kinds.cost(
        "every-kind-1", input_tokens=10, output_tokens=10, image_output_tokens=4
    ).as_dict()
    for kind in KINDS:
        assert kind.token_field in data
        assert kind.cost_field in data
    assert data["image_output_cost"] == "0.000036"
    assert data["output_cost"] == "0.000018"
    assert data["total_cost"] == "0.000064"


def test_the_schema_has_one_rate_field_per_kind() -> None:
    from azcost.pricing import json_schema

    period = json_schema()["$defs"]["PricePeriod"]["properties"]
    rate_fields = [name for name in period if name.endswith("_per_mtok")]
    assert rate_fields == [k.rate_field for k in KINDS]


def test_pricing_show_lists_every_rate_by_label(capsys: pytest.CaptureFixture[str]) -> None:
    from azcost.cli import main

    assert main(["pricing", "show", "every-kind-1", "--pricing", str(_KINDS_FILE)]) == 0
    out = capsys.readouterr().out
    assert "cached audio input 6" in out
    assert "image output 9" in out
    assert (
        main(["pricing", "show", "every-kind-1", "--pricing", str(_KINDS_FILE), "--format", "json"])
        == 0
    )
    period = json.loads(capsys.readouterr().out)["prices"][0]["periods"][0]
    assert period["cached_image_input_per_mtok"] == "8"


def test_price_takes_one_option_per_kind(capsys: pytest.CaptureFixture[str]) -> None:
    from azcost.cli import main

    args = ["price", "every-kind-1", "--pricing", str(_KINDS_FILE), "--input", "100"]
    args += ["--output", "50", "--cached-audio-input", "30", "--image-output", "20"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "0.00052 USD"  # (70x1 + 30x6 + 30x3 + 20x9) / 1M
    assert "cached audio input         30 tokens  0.00018" in out
    assert "image output               20 tokens  0.00018" in out


# --------------------------------------------------------------------------- exactness

_HUGE = st.integers(min_value=0, max_value=10**60)
_RATES = st.decimals(
    min_value=0, max_value=10**12, places=None, allow_nan=False, allow_infinity=False
)


def _table_with(rates: list[Decimal | None]) -> azcost.PricingTable:
    """A one-model table whose only period has the given per-1M rates (KINDS order)."""
    source = SourceInfo("test", "test", "https://example.invalid/", dt.date(2025, 1, 1))
    period = Period(dt.date(2025, 1, 1), tuple(rates), source)
    series = SeriesInfo(DeploymentType.GLOBAL, None, (period,))
    model = ModelInfo(
        "m-1", "m", "1", "chat", None, (), False, DeploymentType.GLOBAL, None, (series,), "-"
    )
    return PricingTable(
        [CompiledFile("-", "2026.01.01", "USD", None, {"test": source}, {"m-1": model})]
    )


@settings(max_examples=300, deadline=None)
@given(
    counts=st.lists(_HUGE, min_size=len(KINDS), max_size=len(KINDS)),
    rates=st.lists(_RATES, min_size=len(KINDS), max_size=len(KINDS)),
    scale=st.integers(min_value=-30, max_value=0),
)
def test_cost_is_the_exact_sum_of_tokens_times_rates(
    counts: list[int], rates: list[Decimal], scale: int
) -> None:
    rates = [r.scaleb(scale) for r in rates]
    table = _table_with(list(rates))
    parts: dict[str, Any] = {
        k.token_field: n for k, n in zip(KINDS, counts, strict=True) if not k.is_total
    }
    sides = {"input": 0, "output": 0}
    for kind, n in zip(KINDS, counts, strict=True):
        sides[kind.side] += n
    with decimal.localcontext() as ctx:  # the caller's context must not matter
        ctx.prec = 5
        cost = table.cost(
            "m-1", input_tokens=sides["input"], output_tokens=sides["output"], **parts
        )
    exact = sum(
        (Fraction(n) * Fraction(r) / 10**6 for n, r in zip(counts, rates, strict=True)),
        Fraction(0),
    )
    assert Fraction(cost.total) == exact
    assert sum(map(Fraction, cost.amounts())) == exact


def test_price_of_a_31_digit_token_count_is_exact(capsys: pytest.CaptureFixture[str]) -> None:
    from azcost.cli import main

    args = ["price", "gpt-35-turbo-0301", "--input", "1000000000000000000000000000007"]
    assert main([*args, "--output", "0"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "2000000000000000000000000.000014 USD"
