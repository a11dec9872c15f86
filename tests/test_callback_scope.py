"""Which calls a cost callback counts: its block, nesting, config, threads and asyncio tasks."""

from __future__ import annotations

import asyncio
import os
import threading
from typing import Any

import pytest
from fakes import EXAMPLE, example_llm
from langchain_core.runnables import RunnableLambda

import azcost
from azcost import CostCallbackHandler, get_cost_callback
from azcost.testing import active_handlers

SCALE = int(os.environ.get("AZCOST_STRESS_SCALE", "1"))


def test_exception_inside_the_block_stops_counting(mini: azcost.PricingTable) -> None:
    llm = example_llm()
    handlers: list[CostCallbackHandler] = []

    def failing_block() -> None:
        with get_cost_callback(mini) as cb:
            handlers.append(cb)
            llm.invoke("x")
            raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        failing_block()
    llm.invoke("after")
    assert handlers[0].successful_requests == 1
    assert active_handlers() == []


def test_nested_blocks_both_count_the_inner_calls(mini: azcost.PricingTable) -> None:
    llm = example_llm()
    with get_cost_callback(mini) as outer:
        llm.invoke("1")
        with get_cost_callback(mini) as inner:
            llm.invoke("2")
            llm.invoke("3")
        llm.invoke("4")
    assert (outer.successful_requests, inner.successful_requests) == (4, 2)
    assert outer.total_cost == 4 * EXAMPLE


def test_block_opened_inside_a_chain_counts_once_per_handler(mini: azcost.PricingTable) -> None:
    llm = example_llm()
    seen: list[CostCallbackHandler] = []

    def step(q: str) -> Any:
        with get_cost_callback(mini) as inner:
            out = llm.invoke(q)
        seen.append(inner)
        return out

    with get_cost_callback(mini) as outer:
        RunnableLambda(step).invoke("x")
    assert outer.successful_requests == 1
    assert seen[0].successful_requests == 1


def test_handler_passed_through_config_counts(mini: azcost.PricingTable) -> None:
    handler = CostCallbackHandler(mini)
    example_llm().invoke("x", config={"callbacks": [handler]})
    _stream_config = example_llm().stream("x", config={"callbacks": [handler]})
    for _ in _stream_config:
        pass
    assert handler.total_cost == 2 * EXAMPLE


def test_handler_both_in_a_block_and_in_config_counts_once(mini: azcost.PricingTable) -> None:
    with get_cost_callback(mini) as cb:
        example_llm().invoke("x", config={"callbacks": [cb]})
    assert cb.successful_requests == 1


def test_calls_in_another_thread_are_not_seen(mini: azcost.PricingTable) -> None:
    llm = example_llm()
    with get_cost_callback(mini) as cb:
        worker = threading.Thread(target=llm.invoke, args=("x",))
        worker.start()
        worker.join()
        llm.invoke("here")
    assert cb.successful_requests == 1


def test_asyncio_tasks_keep_their_own_blocks(mini: azcost.PricingTable) -> None:
    llm = example_llm()

    async def task(n: int) -> CostCallbackHandler:
        async with get_cost_callback(mini) as cb:
            for _ in range(n):
                await llm.ainvoke("x")
        return cb

    async def main() -> list[CostCallbackHandler]:
        return list(await asyncio.gather(task(1), task(2), task(3)))

    counts = [cb.successful_requests for cb in asyncio.run(main())]
    assert counts == [1, 2, 3]


def test_a_call_ending_after_the_block_exits_is_not_counted(mini: azcost.PricingTable) -> None:
    llm = example_llm()
    with get_cost_callback(mini) as cb:
        stream = llm.stream("x")
        next(stream)
    for _ in stream:
        pass
    assert cb.successful_requests == 0


def test_configure_hook_is_registered_once_per_process(mini: azcost.PricingTable) -> None:
    from langchain_core.tracers.context import _configure_hooks

    before = len(_configure_hooks)
    for _ in range(3):
        with get_cost_callback(mini):
            pass
    assert len(_configure_hooks) == before
    assert sum(1 for hook in _configure_hooks if hook[0].name == "azcost_cost_callback") == 1


@pytest.mark.stress
def test_threads_sum_exactly(mini: azcost.PricingTable) -> None:
    threads, calls = 32, 200 * SCALE
    handler = CostCallbackHandler(mini)
    llm = example_llm()
    barrier = threading.Barrier(threads)

    def work() -> None:
        barrier.wait()
        for _ in range(calls):
            llm.invoke("x", config={"callbacks": [handler]})

    pool = [threading.Thread(target=work) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    n = threads * calls
    assert handler.successful_requests == n
    assert (handler.prompt_tokens, handler.completion_tokens) == (31 * n, 8 * n)
    assert handler.total_cost == n * EXAMPLE
    assert handler._runs == {}


@pytest.mark.stress
def test_concurrent_asyncio_tasks_sum_exactly(mini: azcost.PricingTable) -> None:
    tasks = 500 * SCALE
    llm = example_llm()

    async def main() -> CostCallbackHandler:
        async with get_cost_callback(mini) as cb:
            await asyncio.gather(*(llm.ainvoke("x") for _ in range(tasks)))
            await asyncio.gather(*(_drain(llm) for _ in range(tasks)))
        return cb

    async def _drain(model: Any) -> None:
        async for _ in model.astream("x"):
            pass

    cb = asyncio.run(main())
    assert cb.successful_requests == 2 * tasks
    assert cb.total_cost == 2 * tasks * EXAMPLE
