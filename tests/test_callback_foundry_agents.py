"""Agents over langchain-azure-ai's Foundry clients, over HTTP to the local Azure server.

A LangChain ReAct loop (``create_agent``) over each Foundry chat client is counted once per
model call; a Foundry Agent Service node (``ResponsesAgentNode``: the agent lives in the
project, its turns go through the Responses API with an ``agent_reference``) reports only a
total token count, so its calls are listed as unpriced with that reason.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest

pytest.importorskip("langchain_azure_ai")
pytest.importorskip("azure.ai.inference")

from azure.ai.projects import AIProjectClient
from azure.core.pipeline import PipelineRequest
from azure.core.pipeline.policies import SansIOHTTPPolicy
from azure_server import AzureServer, DeploymentSpec
from foundry_clients import CLIENTS, EntraCredential, dropped_cache_said
from langchain_core.messages import HumanMessage
from langchain_core.tools import tool

import azcost
from azcost import get_cost_callback
from azcost.errors import UnpricedCallWarning

HELPER = {"helper-4o": {"model": "gpt-4o", "model_version": "2024-08-06"}}


@pytest.fixture(scope="module")
def server() -> Iterator[AzureServer]:
    srv = AzureServer(
        {
            "agent": DeploymentSpec("gpt-4o-2024-08-06", 31, 8, tool_call="get_time"),
            "helper-4o": DeploymentSpec("gpt-4o-2024-08-06", 1000, 100),
        },
        agents={"helper": "helper-4o"},
    ).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def table() -> azcost.PricingTable:
    return azcost.load_pricing()


@tool
def get_time() -> str:
    """The time of day."""
    return "noon"


@pytest.mark.parametrize("make", CLIENTS.values(), ids=list(CLIENTS))
def test_a_react_agent_loop_is_counted_once_per_model_call(
    server: AzureServer, table: azcost.PricingTable, make: Callable[[AzureServer, str], Any]
) -> None:
    from langchain.agents import create_agent

    agent = create_agent(make(server, "agent"), tools=[get_time])
    before = len(server.requests)
    with get_cost_callback(table) as cb, dropped_cache_said(make):
        result = agent.invoke({"messages": [("human", "What time is it?")]})
    model_calls = len(server.requests) - before
    assert model_calls == 2  # the tool call, then the answer
    assert [m.type for m in result["messages"]] == ["human", "ai", "tool", "ai"]
    assert result["messages"][-1].text == "Hello! How can I help you today?"
    one = table.cost("gpt-4o-2024-08-06", input_tokens=31, output_tokens=8).total
    assert (cb.successful_requests, cb.total_cost) == (model_calls, model_calls * one)
    assert cb.unpriced_requests == []


class PlainHttp(SansIOHTTPPolicy):  # type: ignore[type-arg]
    """Lets the Azure SDK send its Entra token to the plain-HTTP test server (it refuses to)."""

    def on_request(self, request: PipelineRequest) -> None:  # type: ignore[type-arg]
        request.context["enforce_https"] = False


def test_a_foundry_agent_service_node_reports_only_a_total_and_is_unpriced_with_that_reason(
    server: AzureServer, table: azcost.PricingTable
) -> None:
    from langchain_azure_ai.agents import ResponsesAgentNode

    endpoint = f"{server.endpoint}/api/projects/proj"
    client = AIProjectClient(endpoint, EntraCredential(), per_call_policies=[PlainHttp()])
    node = ResponsesAgentNode(client=client, name="helper")
    with (
        pytest.warns(UnpricedCallWarning, match="reported only a total of 1100 tokens"),
        get_cost_callback(table, deployments=HELPER) as cb,
    ):
        state = node.invoke({"messages": [HumanMessage("Hi")]})
    assert state["messages"].text == "Hello! How can I help you today?"
    assert [w.path for w in server.wire[-3:]] == [
        "/api/projects/proj/agents/helper",
        "/api/projects/proj/openai/v1/conversations",
        "/api/projects/proj/openai/v1/responses",
    ]
    deployment, body = server.requests[-1]
    assert (deployment, body["agent_reference"]["name"]) == ("helper-4o", "helper")
    assert (cb.total_cost, cb.successful_requests, cb.by_model) == (Decimal(0), 1, {})
    [unpriced] = cb.unpriced_requests
    assert (unpriced.usage_known, unpriced.reported_model) == (False, "helper-4o")
