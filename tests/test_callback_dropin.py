"""The drop-in: LangChain community's OpenAICallbackHandler unit-test cases, called directly.

Same inputs and calls as langchain-community's ``tests/unit_tests/callbacks/
test_openai_info.py`` (``handler.on_llm_end(response)``, no ``run_id``, no start
event). Counting assertions are theirs; costs are azcost's exact Azure prices from the
shipped table, and what it cannot price is listed and warned, never a silent 0.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, LLMResult

import azcost
from azcost import AssumedVersionWarning, CostCallbackHandler
from azcost.errors import UnpricedCallWarning

INSTRUCT = "gpt-3.5-turbo-instruct"  # BaseOpenAI's default model_name


@pytest.fixture(scope="module")
def table() -> azcost.PricingTable:
    return azcost.load_pricing()


def _handler(table: azcost.PricingTable) -> CostCallbackHandler:
    handler = azcost.get_openai_callback().handler  # the shipped table, like ``table``
    assert handler.pricing is table
    return handler


def _usage_only(model: str, prompt: int, completion: int) -> LLMResult:
    token_usage = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }
    return LLMResult(generations=[], llm_output={"token_usage": token_usage, "model_name": model})


def test_on_llm_end(table: azcost.PricingTable) -> None:
    handler = _handler(table)
    with pytest.warns(AssumedVersionWarning, match="gpt-35-turbo-instruct-0914"):
        handler.on_llm_end(_usage_only(INSTRUCT, 2, 1))
    assert handler.successful_requests == 1
    assert handler.total_tokens == 3
    assert handler.prompt_tokens == 2
    assert handler.completion_tokens == 1
    expected = table.cost(INSTRUCT, input_tokens=2, output_tokens=1).total
    assert handler.total_cost == expected > 0
    assert handler.assumed_requests == 1


def test_on_llm_end_with_chat_generation(table: azcost.PricingTable) -> None:
    handler = _handler(table)
    usage: Any = {
        "input_tokens": 2,
        "output_tokens": 2,
        "total_tokens": 4,
        "input_token_details": {"cache_read": 1},
        "output_token_details": {"reasoning": 1},
    }
    message = AIMessage(content="Hello, world!", usage_metadata=usage)
    response = LLMResult(
        generations=[[ChatGeneration(text="Hello, world!", message=message)]],
        llm_output={"model_name": INSTRUCT},
    )
    # the table sells gpt-35-turbo-instruct no cached rate: listed, never priced at another rate
    with pytest.warns(UnpricedCallWarning, match="has no cached_input_per_mtok"):
        handler.on_llm_end(response)
    assert handler.successful_requests == 1
    assert handler.total_tokens == 4
    assert handler.prompt_tokens == 2
    assert handler.prompt_tokens_cached == 1
    assert handler.completion_tokens == 2
    assert handler.reasoning_tokens == 1
    assert [u.model for u in handler.unpriced_requests] == ["gpt-35-turbo-instruct-0914"]


def test_on_llm_end_custom_model(table: azcost.PricingTable) -> None:
    handler = _handler(table)
    with pytest.warns(UnpricedCallWarning, match="unknown model 'foo-bar'"):
        handler.on_llm_end(_usage_only("foo-bar", 2, 1))
    assert handler.total_cost == 0
    assert [u.reported_model for u in handler.unpriced_requests] == ["foo-bar"]


@pytest.mark.parametrize(
    "model_name",
    [
        "gpt-35-turbo-0301",
        "gpt-35-turbo-0613",
        "gpt-35-turbo-16k-0613",
        "gpt-4-0314",
        "gpt-4-0613",
        "gpt-4-32k-0314",
        "gpt-4-32k-0613",
    ],
)
def test_on_llm_end_azure_openai(table: azcost.PricingTable, model_name: str) -> None:
    handler = _handler(table)
    handler.on_llm_end(_usage_only(model_name, 1000, 1000))
    expected = table.cost(model_name, input_tokens=1000, output_tokens=1000).total
    assert handler.total_cost == expected > 0
    assert list(handler.by_model) == [model_name]


@pytest.mark.parametrize(
    "model_name", ["gpt-35-turbo", "gpt-35-turbo-16k", "gpt-4", "gpt-4-32k", "gpt-5"]
)
def test_on_llm_end_azure_openai_bare_names_are_priced_as_an_assumed_version(
    table: azcost.PricingTable, model_name: str
) -> None:
    handler = _handler(table)
    with pytest.warns(AssumedVersionWarning, match="pin the version in the deployments map"):
        handler.on_llm_end(_usage_only(model_name, 1000, 1000))
    assert handler.total_cost == table.cost(model_name, input_tokens=1000, output_tokens=1000).total
    assert handler.assumed_requests == 1


@pytest.mark.parametrize("model_name", ["gpt-35-turbo-16k-0301", "gpt-4-0301", "gpt-4-32k-0301"])
def test_on_llm_end_no_cost_invalid_model(table: azcost.PricingTable, model_name: str) -> None:
    handler = _handler(table)
    with pytest.warns(UnpricedCallWarning, match=f"unknown model '{model_name}'"):
        handler.on_llm_end(_usage_only(model_name, 1000, 1000))
    assert handler.total_cost == 0
    assert len(handler.unpriced_requests) == 1


def test_on_retry_works(table: azcost.PricingTable) -> None:
    from tenacity import RetryCallState  # what LangChain passes (their test passes a mock)

    state = RetryCallState(retry_object=None, fn=None, args=(), kwargs={})  # type: ignore[arg-type]
    _handler(table).on_retry(state, run_id=uuid.uuid4())


def test_a_run_id_without_a_start_event_is_counted(table: azcost.PricingTable) -> None:
    handler = _handler(table)
    handler.on_llm_end(_usage_only("gpt-35-turbo-0301", 31, 8), run_id=uuid.uuid4())
    assert handler.total_cost == Decimal("0.000078")


def test_the_same_run_delivered_twice_is_counted_once(table: azcost.PricingTable) -> None:
    handler = _handler(table)
    run_id = uuid.uuid4()
    serialized: dict[str, Any] = {"kwargs": {}}
    for _ in range(2):  # a handler in a block and in the config gets each event twice
        handler.on_llm_start(serialized, ["hi"], run_id=run_id)
    for _ in range(2):
        handler.on_llm_end(_usage_only("gpt-35-turbo-0301", 31, 8), run_id=run_id)
    assert handler.successful_requests == 1
    assert handler._runs == {}
