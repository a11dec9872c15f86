"""The handler's short paths give the figures of the general ones, for every shape."""

from __future__ import annotations

from decimal import Decimal, localcontext
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, LLMResult

import azcost
from azcost.callback import Usage, read_plain_usage, read_usage

# detail keys langchain-openai and langchain-azure-ai write, tiered ones, and others
_DETAIL_KEYS = ["audio", "cache_read", "cache_creation", "reasoning", "image", "priority"]
_DETAIL_KEYS += ["priority_cache_read", "flex_reasoning", "flex", "accepted_prediction"]
_NAMES = st.sampled_from([None, "", "gpt-4o", "gpt-35-turbo-0301", "prod-chat"])
_TIERS = st.sampled_from([None, "default", "priority", "flex"])
_COUNTS = st.integers(0, 10**7)
_DETAILS = st.one_of(
    st.none(),
    st.dictionaries(
        st.sampled_from(_DETAIL_KEYS), st.one_of(st.just(0), st.integers(0, 10**6)), max_size=4
    ),
)


def _meta(model: str | None, model_key: str, tier: str | None) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    if model is not None:
        meta[model_key] = model
    if tier is not None:
        meta["service_tier"] = tier
    return meta


@st.composite
def chat_results(draw: st.DrawFn) -> LLMResult:
    """One chat generation as LangChain clients build it, usage present or not."""
    usage: dict[str, Any] | None = None
    if draw(st.booleans()):
        tokens_in, tokens_out = draw(_COUNTS), draw(_COUNTS)
        usage = {
            "input_tokens": tokens_in,
            "output_tokens": tokens_out,
            "total_tokens": tokens_in + tokens_out,
        }
        for side in ("input_token_details", "output_token_details"):
            details = draw(_DETAILS)
            if details is not None:
                usage[side] = details
    keys = st.sampled_from(["model_name", "model"])
    meta = _meta(draw(_NAMES), draw(keys), draw(_TIERS))
    llm_output = draw(st.one_of(st.none(), st.builds(_meta, _NAMES, keys, _TIERS)))
    info = draw(st.one_of(st.none(), st.builds(lambda t: {"service_tier": t}, _TIERS)))
    message = AIMessage("ok", usage_metadata=usage, response_metadata=meta)
    generation = ChatGeneration(message=message, generation_info=info)
    return LLMResult(generations=[[generation]], llm_output=llm_output)


@settings(max_examples=400, deadline=None)
@given(chat_results(), st.integers(1, 3))
def test_plain_reading_equals_the_general_reading(result: LLMResult, batch_size: int) -> None:
    plain = read_plain_usage(result)
    if plain is not None:
        assert [plain] == read_usage(result, batch_size)
        assert type(plain) is Usage
    usage = getattr(getattr(result.generations[0][0], "message", None), "usage_metadata", None)
    parts = [*usage.get("input_token_details", {}).values()] if usage else [1]
    parts += [*usage.get("output_token_details", {}).values()] if usage else []
    assert (plain is not None) == (not any(parts))  # every plain result takes the short path


def test_the_usual_chat_call_is_read_plain() -> None:
    usage = {
        "input_tokens": 31,
        "output_tokens": 8,
        "total_tokens": 39,
        "input_token_details": {"audio": 0, "cache_read": 0},
        "output_token_details": {"audio": 0, "reasoning": 0},
    }
    meta = {"model_name": "gpt-4o"}
    message = AIMessage("ok", usage_metadata=usage, response_metadata=meta)
    result = LLMResult(generations=[[ChatGeneration(message=message)]])
    assert read_plain_usage(result) == Usage(True, 31, 8, 0, {}, "gpt-4o")


@pytest.mark.parametrize(
    "details",
    [
        {"input_token_details": {"cache_read": 5}},
        {"output_token_details": {"reasoning": 3}},
        {"input_token_details": {"priority_cache_read": 5}},
    ],
)
def test_parts_billed_at_their_own_rate_are_left_to_the_general_reading(
    details: dict[str, Any],
) -> None:
    usage = {"input_tokens": 10, "output_tokens": 5, "total_tokens": 15, **details}
    message = AIMessage("ok", usage_metadata=usage)
    result = LLMResult(generations=[[ChatGeneration(message=message)]])
    assert read_plain_usage(result) is None


_TEXT_PRICED = [
    name
    for name in azcost.load_pricing().models
    if azcost.load_pricing().rates(name).output is not None
]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(_TEXT_PRICED), st.integers(0, 10**12), st.integers(0, 10**12))
def test_text_only_cost_is_each_count_times_its_rate_exactly(
    model: str, input_tokens: int, output_tokens: int
) -> None:
    table = azcost.load_pricing()
    cost = table.cost(model, input_tokens=input_tokens, output_tokens=output_tokens)
    rates = cost.rates
    assert rates.output is not None
    with localcontext() as ctx:
        ctx.prec = 200  # far more digits than any of these products and sums has
        expected = input_tokens * rates.input + output_tokens * rates.output
    assert cost.total.as_tuple() == expected.as_tuple()  # same value, same exponent
    assert cost.total == sum(cost.amounts(), Decimal(0))
