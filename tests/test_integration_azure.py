"""The cost callback with the real langchain-openai AzureChatOpenAI over HTTP to a local server."""

from __future__ import annotations

import asyncio
import contextvars
import os
import threading
import warnings
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("langchain_openai")

from azure_server import AzureServer, DeploymentSpec
from langchain_core.prompts import ChatPromptTemplate
from langchain_openai import AzureChatOpenAI

import azcost
from azcost import BudgetExceededError, get_cost_callback
from azcost.chat import AzureChatOpenAI as VersionedAzureChatOpenAI
from azcost.errors import UnpricedCallWarning
from azcost.testing import active_handlers

EXAMPLE = Decimal("0.000078")
SCALE = int(os.environ.get("AZCOST_STRESS_SCALE", "1"))
DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def server() -> Iterator[AzureServer]:
    srv = AzureServer(
        {
            "gpt-35-turbo": DeploymentSpec("gpt-35-turbo", 31, 8),
            "prod-chat": DeploymentSpec("gpt-35-turbo", 31, 8),
            "gpt-4o": DeploymentSpec("gpt-4o-2024-08-06", 1000, 100, cached_tokens=400),
            "o1": DeploymentSpec(
                "o1-2024-12-17", 1000, 500, cached_tokens=200, reasoning_tokens=300
            ),
            "gpt-4": DeploymentSpec("gpt-4", 120, 40),
        }
    ).start()
    yield srv
    srv.stop()


def client(
    server: AzureServer, deployment: str = "gpt-35-turbo", cls: type = AzureChatOpenAI, **kw: Any
) -> Any:
    kw.setdefault("model_version", "0301")
    return cls(
        azure_deployment=deployment,
        api_version="2023-06-01-preview",
        api_key="test",
        azure_endpoint=server.endpoint,
        max_retries=0,
        **kw,
    )


MESSAGES = [("system", "You are a helpful assistant."), ("human", "Hello!")]


def _invoke(llm: Any) -> None:
    llm.invoke(MESSAGES)


def _stream(llm: Any) -> None:
    for _ in llm.stream(MESSAGES):
        pass


def _batch(llm: Any) -> None:
    llm.batch([MESSAGES])


def _chain(llm: Any) -> None:
    prompt = ChatPromptTemplate.from_messages([("system", "You are helpful."), ("human", "{q}")])
    (prompt | llm).invoke({"q": "Hello!"})


def _ainvoke(llm: Any) -> None:
    asyncio.run(llm.ainvoke(MESSAGES))


def _astream(llm: Any) -> None:
    async def go() -> None:
        async for _ in llm.astream(MESSAGES):
            pass

    asyncio.run(go())


MODES: dict[str, Callable[[Any], None]] = {
    "invoke": _invoke,
    "stream": _stream,
    "batch": _batch,
    "ainvoke": _ainvoke,
    "astream": _astream,
    "chain": _chain,
}
CLIENTS = {"langchain-openai": AzureChatOpenAI, "azcost.chat": VersionedAzureChatOpenAI}


@pytest.mark.parametrize("cls", list(CLIENTS.values()), ids=list(CLIENTS))
@pytest.mark.parametrize("mode", list(MODES))
def test_the_documented_example_costs_0_000078_in_every_mode(
    server: AzureServer, mode: str, cls: type
) -> None:
    llm = client(server, cls=cls)
    with get_cost_callback() as cb:  # the shipped table
        MODES[mode](llm)
    assert cb.total_cost == EXAMPLE
    assert (cb.prompt_tokens, cb.completion_tokens, cb.successful_requests) == (31, 8, 1)
    assert list(cb.by_model) == ["gpt-35-turbo-0301"]
    assert cb.unpriced_requests == []


def test_a_response_already_named_with_its_version(
    server: AzureServer, mini: azcost.PricingTable
) -> None:
    llm = client(server, "gpt-4o", model_version="2024-08-06")
    with get_cost_callback(mini) as cb:
        message = llm.invoke(MESSAGES)
        _stream(llm)
    assert message.response_metadata["model_name"] == "gpt-4o-2024-08-06-2024-08-06"  # LangChain's
    assert list(cb.by_model) == ["gpt-4o-2024-08-06"]
    # 600 x 2.50 + 400 x 1.25 (cached) + 100 x 10.00, per 1M; twice
    assert cb.total_cost == 2 * Decimal("0.003")


def test_cached_and_reasoning_tokens(server: AzureServer, mini: azcost.PricingTable) -> None:
    llm = client(server, "o1", model_version="2024-12-17")
    with get_cost_callback(mini) as cb:
        llm.invoke(MESSAGES)
    assert (cb.prompt_tokens_cached, cb.reasoning_tokens) == (200, 300)
    # 800 x 15 + 200 x 7.50 + 500 x 60, per 1M
    assert cb.total_cost == Decimal("0.0435")


def test_an_unknown_version_is_reported_not_zero(
    server: AzureServer, mini: azcost.PricingTable
) -> None:
    llm = client(server, model_version="1106")
    with (
        pytest.warns(UnpricedCallWarning, match="gpt-35-turbo-1106"),
        get_cost_callback(mini) as cb,
    ):
        llm.invoke(MESSAGES)
    assert cb.successful_requests == 1
    assert cb.total_cost == 0
    assert "closest known" in cb.unpriced_requests[0].reason


def test_deployments_map_prices_an_arbitrary_deployment_name(server: AzureServer) -> None:
    llm = client(server, "prod-chat", model_version="")
    deployments = {"prod-chat": {"model": "gpt-35-turbo", "model_version": "0301"}}
    with get_cost_callback(deployments=deployments) as cb:
        _invoke(llm)
        _stream(llm)
    assert cb.total_cost == 2 * EXAMPLE


def test_stream_without_usage_is_listed_as_unknown_usage(server: AzureServer) -> None:
    llm = client(server, stream_usage=False)
    with (
        pytest.warns(UnpricedCallWarning, match="stream_usage=False on the client"),
        get_cost_callback() as cb,
    ):
        _stream(llm)
    assert server.requests[-1][1].get("stream_options") is None
    assert cb.successful_requests == 1
    assert cb.unpriced_requests[0].usage_known is False


def test_exception_inside_the_block_stops_counting(server: AzureServer) -> None:
    llm = client(server)
    seen: list[azcost.CostCallbackHandler] = []

    def block() -> None:
        with get_cost_callback() as cb:
            seen.append(cb)
            llm.invoke(MESSAGES)
            raise KeyError("boom")

    with pytest.raises(KeyError):
        block()
    llm.invoke(MESSAGES)
    assert seen[0].successful_requests == 1
    assert active_handlers() == []


def test_nested_blocks(server: AzureServer) -> None:
    llm = client(server)
    with get_cost_callback() as outer:
        llm.invoke(MESSAGES)
        with get_cost_callback() as inner:
            llm.invoke(MESSAGES)
            _stream(llm)
    assert (outer.successful_requests, inner.successful_requests) == (3, 2)
    assert outer.total_cost == 3 * EXAMPLE


def test_budget_exceeded_call_is_never_sent(server: AzureServer) -> None:
    llm = client(server)
    with get_cost_callback(budget=Decimal("0.0001")) as cb:
        _invoke(llm)
        _stream(llm)
        sent = len(server.requests)
        with pytest.raises(BudgetExceededError):
            _invoke(llm)
        with pytest.raises(BudgetExceededError):
            _ainvoke(llm)
        assert len(server.requests) == sent
    assert cb.total_cost == 2 * EXAMPLE


@pytest.mark.stress
def test_threads_over_http_sum_exactly(server: AzureServer) -> None:
    # 32 x 200 runs in test_callback on FakeAzureChatModel; over HTTP it is ~35 s, so 32 x 20 here
    threads, calls = 32, 20 * SCALE
    llm = client(server)
    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []

    with get_cost_callback() as cb:

        def work(ctx: Any) -> None:
            try:
                barrier.wait()
                for _ in range(calls):
                    ctx.run(llm.invoke, MESSAGES)  # a thread sees the block through its context
            except BaseException as exc:  # reported below
                errors.append(exc)

        pool = [
            threading.Thread(target=work, args=(contextvars.copy_context(),))
            for _ in range(threads)
        ]
        for t in pool:
            t.start()
        for t in pool:
            t.join()
    assert errors == []
    n = threads * calls
    assert cb.successful_requests == n
    assert cb.total_cost == n * EXAMPLE


@pytest.mark.stress
def test_concurrent_asyncio_tasks_over_http_sum_exactly(server: AzureServer) -> None:
    tasks = 500 * SCALE
    llm = client(server)

    async def main() -> azcost.CostCallbackHandler:
        async with get_cost_callback() as cb:
            await asyncio.gather(*(llm.ainvoke(MESSAGES) for _ in range(tasks)))
        return cb

    cb = asyncio.run(main())
    assert cb.successful_requests == tasks
    assert cb.total_cost == tasks * EXAMPLE


@pytest.mark.parametrize(
    ("deployment", "version"),
    [("gpt-35-turbo", "0301"), ("gpt-4o", ""), ("gpt-4", "0613")],
    ids=["gpt-35-turbo-0301", "gpt-4o-2024-08-06-cached", "gpt-4-0613"],
)
def test_agrees_with_langchain_community_where_its_price_is_right(
    server: AzureServer, deployment: str, version: str
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from langchain_community.callbacks.openai_info import OpenAICallbackHandler
    table = azcost.load_pricing(DATA / "legacy_agree.yaml")
    llm = client(server, deployment, model_version=version)
    theirs = OpenAICallbackHandler()
    with get_cost_callback(table) as ours:
        llm.invoke(MESSAGES, config={"callbacks": [theirs]})
    assert theirs.successful_requests == ours.successful_requests == 1
    assert (theirs.prompt_tokens, theirs.completion_tokens) == (
        ours.prompt_tokens,
        ours.completion_tokens,
    )
    assert theirs.prompt_tokens_cached == ours.prompt_tokens_cached
    assert ours.total_cost > 0
    assert abs(Decimal(str(theirs.total_cost)) - ours.total_cost) <= ours.total_cost * Decimal(
        "1e-12"
    )
