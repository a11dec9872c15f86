"""Every client path over HTTP: deployment names given as ``model``, the Foundry client, service
tiers, legacy completions, and a ReAct agent loop, priced exactly or listed with the reason."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("langchain_openai")

from azure_server import AzureServer, DeploymentSpec
from call_modes import MODES, invoke
from langchain_core.tools import tool
from langchain_openai import AzureOpenAI, ChatOpenAI

import azcost
from azcost import AssumedVersionWarning, get_cost_callback
from azcost.errors import UnpricedCallWarning

EXAMPLE = Decimal("0.000078")  # 31 + 8 tokens of gpt-35-turbo-0301
PROD_CHAT = {"prod-chat": {"model": "gpt-35-turbo", "model_version": "0301"}}


@pytest.fixture(scope="module")
def server() -> Iterator[AzureServer]:
    srv = AzureServer(
        {
            "prod-chat": DeploymentSpec("gpt-35-turbo", 31, 8),
            "agent": DeploymentSpec("gpt-35-turbo", 31, 8, tool_call="get_time"),
            "priority": DeploymentSpec(
                "gpt-4o-2024-08-06", 1000, 100, cached_tokens=400, service_tier="priority"
            ),
            "standard": DeploymentSpec("gpt-4o-2024-08-06", 1000, 100, service_tier="default"),
            "instruct": DeploymentSpec("gpt-35-turbo-instruct", 31, 8),
        }
    ).start()
    yield srv
    srv.stop()


def _init_chat_model(server: AzureServer) -> Any:
    from langchain.chat_models import init_chat_model

    return init_chat_model(
        "azure_openai:prod-chat",
        azure_endpoint=server.endpoint,
        api_version="2024-10-21",
        api_key="test",
        max_retries=0,
    )


def _chat_openai_v1(server: AzureServer) -> Any:
    return ChatOpenAI(
        model="prod-chat",
        base_url=f"{server.endpoint}/openai/v1",
        api_key="test",
        max_retries=0,
        stream_usage=True,
    )


def _foundry(server: AzureServer) -> Any:
    foundry = pytest.importorskip("langchain_azure_ai.chat_models")
    return foundry.AzureAIOpenAIApiChatModel(
        endpoint=f"{server.endpoint}/openai/v1",
        credential="test",
        model="prod-chat",
        use_responses_api=False,
        stream_usage=True,
        max_retries=0,
    )


CLIENTS: dict[str, Callable[[AzureServer], Any]] = {
    "init_chat_model('azure_openai:prod-chat')": _init_chat_model,
    "ChatOpenAI(base_url=.../openai/v1, model='prod-chat')": _chat_openai_v1,
    "AzureAIOpenAIApiChatModel (langchain-azure-ai)": _foundry,
}


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("make", CLIENTS.values(), ids=list(CLIENTS))
def test_a_deployment_name_given_as_model_is_priced_by_the_deployments_map(
    server: AzureServer, mini: azcost.PricingTable, make: Callable[[AzureServer], Any], mode: str
) -> None:
    llm = make(server)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # exact: no assumed version, nothing unpriced
        with get_cost_callback(mini, deployments=PROD_CHAT) as cb:
            MODES[mode](llm)
    assert cb.total_cost == EXAMPLE
    assert list(cb.by_model) == ["gpt-35-turbo-0301"]
    assert server.requests[-1][0] == "prod-chat"


@pytest.mark.parametrize("make", CLIENTS.values(), ids=list(CLIENTS))
def test_without_the_map_the_assumed_version_is_said(
    server: AzureServer, mini: azcost.PricingTable, make: Callable[[AzureServer], Any]
) -> None:
    llm = make(server)
    with (
        pytest.warns(AssumedVersionWarning, match="priced as gpt-35-turbo-0125"),
        get_cost_callback(mini) as cb,
    ):
        invoke(llm)
    assumed = mini.cost("gpt-35-turbo-0125", input_tokens=31, output_tokens=8).total
    assert (cb.total_cost, cb.assumed_requests) == (assumed, 1)


def _azure_chat(server: AzureServer, deployment: str) -> Any:
    from langchain_openai import AzureChatOpenAI

    return AzureChatOpenAI(
        azure_deployment=deployment,
        api_version="2024-10-21",
        api_key="test",
        azure_endpoint=server.endpoint,
        max_retries=0,
    )


@pytest.mark.parametrize("mode", list(MODES))
def test_a_priority_tier_call_is_unpriced_never_at_standard_rates(
    server: AzureServer, mini: azcost.PricingTable, mode: str
) -> None:
    with (
        pytest.warns(UnpricedCallWarning, match="no 'priority' service-tier price"),
        get_cost_callback(mini) as cb,
    ):
        MODES[mode](_azure_chat(server, "priority"))
    assert cb.total_cost == 0
    assert (cb.prompt_tokens, cb.prompt_tokens_cached) == (1000, 400)  # priority_cache_read
    [unpriced] = cb.unpriced_requests
    assert unpriced.model == "gpt-4o-2024-08-06"


@pytest.mark.parametrize("mode", list(MODES))
def test_a_priority_tier_call_is_priced_at_the_tables_priority_rates(
    server: AzureServer, mode: str
) -> None:
    tiers = azcost.load_pricing(Path(__file__).parent / "data" / "tiers.yaml")
    with get_cost_callback(tiers) as cb:
        MODES[mode](_azure_chat(server, "priority"))
    # 600 x 4.375 + 400 cached x 2.1875 + 100 x 17.50 per 1M: the tier's rates, cache included
    assert cb.total_cost == Decimal("0.00525")
    assert cb.unpriced_requests == []


def test_the_default_tier_is_priced(server: AzureServer, mini: azcost.PricingTable) -> None:
    with get_cost_callback(mini) as cb:
        invoke(_azure_chat(server, "standard"))
    assert cb.total_cost == Decimal("0.0035")  # 1000 x 2.50 + 100 x 10.00 per 1M


def _legacy(server: AzureServer, **kw: Any) -> AzureOpenAI:
    return AzureOpenAI(
        azure_deployment="instruct",
        api_version="2024-10-21",
        api_key="test",
        azure_endpoint=server.endpoint,
        max_retries=0,
        **kw,
    )


def test_legacy_streaming_completion_is_unknown_usage_not_zero(server: AzureServer) -> None:
    with (
        pytest.warns(UnpricedCallWarning, match="legacy completions report none when streaming"),
        get_cost_callback(on_assumed="ignore") as cb,
    ):
        _legacy(server, streaming=True).invoke("Hello")
    assert cb.successful_requests == 1
    assert cb.by_model == {}
    [unpriced] = cb.unpriced_requests
    assert unpriced.usage_known is False
    assert "stream_usage" not in unpriced.reason


def test_a_legacy_batch_is_priced_once_and_counts_every_prompt(server: AzureServer) -> None:
    table = azcost.load_pricing()
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnpricedCallWarning)
        with get_cost_callback(table, on_assumed="ignore") as cb:
            _legacy(server).batch(["a", "b", "c"])
    assert cb.successful_requests == 3
    assert cb.prompt_tokens == 93  # 3 x 31, reported once with the first prompt
    expected = table.cost("gpt-35-turbo-instruct", input_tokens=93, output_tokens=24).total
    assert cb.total_cost == expected


@tool
def get_time() -> str:
    """The time of day."""
    return "noon"


def test_a_react_agent_loop_is_counted_once_per_model_call(
    server: AzureServer, mini: azcost.PricingTable
) -> None:
    from langchain.agents import create_agent
    from langchain_openai import AzureChatOpenAI

    llm = AzureChatOpenAI(
        azure_deployment="agent",
        model_version="0301",
        api_version="2024-10-21",
        api_key="test",
        azure_endpoint=server.endpoint,
        max_retries=0,
    )
    agent = create_agent(llm, tools=[get_time])
    before = len(server.requests)
    with get_cost_callback(mini) as cb:
        result = agent.invoke({"messages": [("human", "What time is it?")]})
    model_calls = len(server.requests) - before
    assert model_calls == 2  # the tool call, then the answer
    assert result["messages"][-1].content == "Hello! How can I help you today?"
    assert cb.successful_requests == model_calls
    assert cb.total_cost == model_calls * EXAMPLE


def test_priority_spend_is_a_row_of_its_own_in_by_model_and_the_summary(
    server: AzureServer,
) -> None:
    tiers = azcost.load_pricing(Path(__file__).parent / "data" / "tiers.yaml")
    with get_cost_callback(tiers) as cb:
        for deployment in ("priority", "standard", "priority"):
            invoke(_azure_chat(server, deployment))
    standard = cb.by_model["gpt-4o-2024-08-06"]
    priority = cb.by_model["gpt-4o-2024-08-06 (priority)"]
    assert len(cb.by_model) == 2
    assert (standard.service_tier, priority.service_tier) == (None, "priority")
    assert (standard.requests, priority.requests) == (1, 2)
    assert (standard.total_cost, priority.total_cost) == (Decimal("0.0035"), Decimal("0.0105"))
    assert priority.prompt_tokens_cached == 800
    assert cb.total_cost == Decimal("0.014")
    rows = {line.split("  ")[0]: line for line in cb.summary().splitlines()}
    assert rows["gpt-4o-2024-08-06 (priority)"].split()[-1] == "0.0105"
    assert rows["gpt-4o-2024-08-06"].split()[-1] == "0.0035"
