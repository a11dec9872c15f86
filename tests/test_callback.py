"""The cost callback on FakeAzureChatModel: every mode, identity, unpriced calls, scope, budget."""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import types
import uuid
import warnings
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fakes import EXAMPLE, example_llm
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult, Generation, LLMResult
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnableLambda

import azcost
from azcost import BudgetExceededError, CostCallbackHandler, MatchKind, get_cost_callback
from azcost.errors import DeploymentsFileError, UnknownModelError, UnpricedCallWarning
from azcost.testing import FakeAzureChatModel, active_handlers

SCALE = int(os.environ.get("AZCOST_STRESS_SCALE", "1"))


def _invoke(llm: Any) -> None:
    llm.invoke("Hello")


def _stream(llm: Any) -> None:
    for _ in llm.stream("Hello"):
        pass


def _batch(llm: Any) -> None:
    llm.batch(["Hello"])


def _chain(llm: Any) -> None:
    (ChatPromptTemplate.from_messages([("human", "{q}")]) | llm).invoke({"q": "Hello"})


def _ainvoke(llm: Any) -> None:
    asyncio.run(llm.ainvoke("Hello"))


def _astream(llm: Any) -> None:
    async def go() -> None:
        async for _ in llm.astream("Hello"):
            pass

    asyncio.run(go())


MODES: dict[str, Callable[[Any], None]] = {
    "invoke": _invoke,
    "stream": _stream,
    "batch": _batch,
    "chain": _chain,
    "ainvoke": _ainvoke,
    "astream": _astream,
}


@pytest.mark.parametrize("mode", list(MODES))
def test_the_0301_example_costs_the_same_in_every_mode(
    mode: str, mini: azcost.PricingTable
) -> None:
    with get_cost_callback(mini) as cb:
        MODES[mode](example_llm())
    assert cb.total_cost == EXAMPLE
    assert isinstance(cb.total_cost, Decimal)
    assert (cb.prompt_tokens, cb.completion_tokens, cb.total_tokens) == (31, 8, 39)
    assert cb.successful_requests == 1
    assert list(cb.by_model) == ["gpt-35-turbo-0301"]
    assert cb.by_model["gpt-35-turbo-0301"].total_cost == EXAMPLE
    assert cb.unpriced_requests == []


def test_shipped_table_prices_the_0301_example() -> None:
    with get_cost_callback() as cb:
        example_llm().invoke("Hello")
    assert cb.total_cost == EXAMPLE


def test_batch_counts_every_prompt(mini: azcost.PricingTable) -> None:
    with get_cost_callback(mini) as cb:
        example_llm().batch(["a", "b", "c"])
    assert cb.successful_requests == 3
    assert cb.total_cost == 3 * EXAMPLE


def test_cached_and_reasoning_tokens_are_priced_at_their_rates(mini: azcost.PricingTable) -> None:
    llm = FakeAzureChatModel(
        deployment_name="gpt-4o",
        model="gpt-4o-2024-08-06",
        input_tokens=1000,
        cached_tokens=400,
        output_tokens=100,
        reasoning_tokens=30,
    )
    with get_cost_callback(mini) as cb:
        llm.invoke("x")
    # 600 x 2.50 + 400 x 1.25 + 100 x 10.00, per 1M
    assert cb.total_cost == Decimal("0.003")
    assert (cb.prompt_tokens_cached, cb.reasoning_tokens) == (400, 30)
    assert cb.by_model["gpt-4o-2024-08-06"].prompt_tokens_cached == 400


def _result(
    model_name: str | None, usage: dict[str, Any] | None, llm_output: Any = None
) -> LLMResult:
    meta = {"model_name": model_name} if model_name else {}
    msg = AIMessage(content="ok", response_metadata=meta, usage_metadata=usage)
    return LLMResult(generations=[[ChatGeneration(message=msg)]], llm_output=llm_output)


def _call(
    handler: Any,
    result: LLMResult,
    *,
    kwargs: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
) -> None:
    run_id = uuid.uuid4()
    serialized = {"lc": 1, "type": "constructor", "id": ["x"], "kwargs": kwargs or {}}
    handler.on_chat_model_start(serialized, [[]], run_id=run_id, metadata=metadata or {})
    handler.on_llm_end(result, run_id=run_id)


USAGE = {"input_tokens": 31, "output_tokens": 8, "total_tokens": 39}


def test_a_response_already_versioned_is_not_versioned_twice(mini: azcost.PricingTable) -> None:
    handler = CostCallbackHandler(mini)
    usage = {"input_tokens": 1000, "output_tokens": 100, "total_tokens": 1100}
    _call(
        handler,
        _result("gpt-4o-2024-08-06-2024-08-06", usage),
        kwargs={"deployment_name": "gpt-4o", "model_version": "2024-08-06"},
    )
    assert list(handler.by_model) == ["gpt-4o-2024-08-06"]
    assert handler.total_cost == Decimal("0.0035")


def test_usage_falls_back_to_llm_output_token_usage(mini: azcost.PricingTable) -> None:
    handler = CostCallbackHandler(mini)
    token_usage = {"prompt_tokens": 31, "completion_tokens": 8, "total_tokens": 39}
    _call(
        handler,
        _result(None, None, {"token_usage": token_usage, "model_name": "gpt-35-turbo-0301"}),
    )
    assert handler.total_cost == EXAMPLE


def test_completion_llm_results_are_priced_from_llm_output(mini: azcost.PricingTable) -> None:
    handler = CostCallbackHandler(mini)
    run_id = uuid.uuid4()
    handler.on_llm_start({"kwargs": {"model_version": "0301"}}, ["hi"], run_id=run_id)
    token_usage = {"prompt_tokens": 31, "completion_tokens": 8}
    result = LLMResult(
        generations=[[Generation(text="ok")]],
        llm_output={"token_usage": token_usage, "model_name": "gpt-35-turbo"},
    )
    handler.on_llm_end(result, run_id=run_id)
    assert handler.total_cost == EXAMPLE


def test_every_prompt_of_one_result_is_counted(mini: azcost.PricingTable) -> None:
    handler = CostCallbackHandler(mini)
    gens = [
        [ChatGeneration(message=AIMessage("a", usage_metadata=USAGE))],
        [ChatGeneration(message=AIMessage("b", usage_metadata=USAGE))],
    ]
    run_id = uuid.uuid4()
    handler.on_chat_model_start({"kwargs": {"model_version": "0301"}}, [[]], run_id=run_id)
    handler.on_llm_end(
        LLMResult(generations=gens, llm_output={"model_name": "gpt-35-turbo"}), run_id=run_id
    )
    assert handler.successful_requests == 2
    assert handler.total_cost == 2 * EXAMPLE


@pytest.mark.parametrize(
    ("kwargs", "metadata", "reported", "expected", "match"),
    [
        (
            {"model_version": "0301"},
            {},
            "gpt-35-turbo",
            "gpt-35-turbo-0301",
            MatchKind.VERSION_APPENDED,
        ),
        (
            {},
            {"ls_model_name": "gpt-35-turbo-0301"},
            "gpt-35-turbo",
            "gpt-35-turbo-0301",
            MatchKind.EXACT,
        ),
        ({"deployment_name": "gpt-35-turbo-0301"}, {}, None, "gpt-35-turbo-0301", MatchKind.EXACT),
        ({}, {}, "gpt-35-turbo", "gpt-35-turbo-0125", MatchKind.BASE_DEFAULT),
        (
            {"model_version": "2024-08-06"},
            {},
            "gpt-4o-2024-08-06",
            "gpt-4o-2024-08-06",
            MatchKind.EXACT,
        ),
    ],
    ids=["client-version", "ls-model-name", "deployment-name", "base-default", "already-versioned"],
)
def test_model_identity_comes_from_the_client_then_the_response(
    mini: azcost.PricingTable,
    kwargs: dict[str, Any],
    metadata: dict[str, Any],
    reported: str | None,
    expected: str,
    match: MatchKind,
) -> None:
    handler = CostCallbackHandler(mini, on_assumed="ignore")
    _call(handler, _result(reported, USAGE), kwargs=kwargs, metadata=metadata)
    assert list(handler.by_model) == [expected]
    assert handler.assumed_requests == (match is MatchKind.BASE_DEFAULT)
    ident = next(iter(handler._identities.values()))
    assert ident.match is match


def test_deployments_map_names_an_arbitrary_deployment(mini: azcost.PricingTable) -> None:
    deployments = {"prod-chat": {"model": "gpt-35-turbo", "model_version": "0301"}}
    llm = example_llm(deployment_name="prod-chat", model_version="")
    with get_cost_callback(mini, deployments=deployments) as cb:
        llm.invoke("x")
    assert list(cb.by_model) == ["gpt-35-turbo-0301"]
    assert cb.total_cost == EXAMPLE
    ident = next(iter(cb._identities.values()))
    assert ident.match is MatchKind.DEPLOYMENT


def test_deployments_map_wins_over_the_response_and_picks_region(
    mini: azcost.PricingTable, tmp_path: Path
) -> None:
    path = tmp_path / "deployments.yaml"
    path.write_text(
        "eu-chat:\n  model: gpt-35-turbo\n  model_version: '0125'\n"
        "  deployment_type: Standard\n  region: swedencentral\n"
    )
    llm = example_llm(
        deployment_name="eu-chat", model_version="0301", input_tokens=1000, output_tokens=1000
    )
    with get_cost_callback(mini, deployments=path) as cb:
        llm.invoke("x")
    # 0125 in swedencentral: 0.60 / 1.80 per 1M
    assert cb.by_model["gpt-35-turbo-0125"].total_cost == Decimal("0.0024")


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (
            "prod-chat:\n  model: gpt-35-turbo\n  modle_version: '0301'\n",
            ":3: deployment 'prod-chat': field 'modle_version'",
        ),
        ("prod-chat:\n  model_version: '0301'\n", ":1: deployment 'prod-chat': field 'model'"),
        (
            "a:\n  model: gpt-4o\nb:\n  model: gpt-4o\n  deployment_type: turbo\n",
            ":5: deployment 'b': field 'deployment_type'",
        ),
        ("- just a list\n", ":1: a deployments map must be a mapping"),
        ("prod-chat: gpt-4o\n", ":1: deployment 'prod-chat': expected a mapping"),
    ],
    ids=["typo", "missing-model", "bad-type", "not-a-mapping", "not-an-entry"],
)
def test_bad_deployments_file_names_file_line_deployment_and_field(
    mini: azcost.PricingTable, tmp_path: Path, text: str, where: str
) -> None:
    path = tmp_path / "deployments.yaml"
    path.write_text(text)
    with pytest.raises(DeploymentsFileError) as info:
        CostCallbackHandler(mini, deployments=path)
    assert str(info.value).startswith(str(path) + where)


def test_unknown_version_warns_with_closest_names_and_is_listed(mini: azcost.PricingTable) -> None:
    llm = example_llm(model_version="1106")
    with (
        pytest.warns(
            UnpricedCallWarning, match=r"gpt-35-turbo-1106.*closest known: .*gpt-35-turbo-0"
        ),
        get_cost_callback(mini) as cb,
    ):
        llm.invoke("x")
    assert cb.total_cost == 0
    assert cb.successful_requests == 1
    assert cb.by_model == {}
    [unpriced] = cb.unpriced_requests
    assert unpriced.reported_model == "gpt-35-turbo-1106"
    assert "unknown model 'gpt-35-turbo-1106'" in unpriced.reason
    assert (unpriced.prompt_tokens, unpriced.completion_tokens) == (31, 8)


def test_unknown_version_raises_when_asked(mini: azcost.PricingTable) -> None:
    with get_cost_callback(mini, on_unknown="raise") as cb, pytest.raises(UnknownModelError):
        example_llm(model_version="1106").invoke("x")
    assert len(cb.unpriced_requests) == 1


def test_unknown_version_is_listed_silently_when_ignored(mini: azcost.PricingTable) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with get_cost_callback(mini, on_unknown="ignore") as cb:
            example_llm(model_version="1106").invoke("x")
    assert len(cb.unpriced_requests) == 1


def test_stream_without_usage_counts_a_request_with_unknown_usage(
    mini: azcost.PricingTable,
) -> None:
    with (
        pytest.warns(UnpricedCallWarning, match="no usage chunk: stream_usage=False"),
        get_cost_callback(mini) as cb,
    ):
        _stream(example_llm(stream_usage=False))
    assert cb.successful_requests == 1
    assert cb.total_cost == 0
    [unpriced] = cb.unpriced_requests
    assert unpriced.usage_known is False
    assert unpriced.model == "gpt-35-turbo-0301"


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


SENT: list[str] = []


class CountingFake(FakeAzureChatModel):
    """Counts calls that reached the model."""

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> ChatResult:
        SENT.append(str(messages[-1].content))
        return super()._generate(messages, *args, **kwargs)


def test_budget_refuses_the_call_after_the_one_that_reached_it(mini: azcost.PricingTable) -> None:
    SENT.clear()
    llm = CountingFake(model_version="0301", input_tokens=31, output_tokens=8)
    with get_cost_callback(mini, budget=Decimal("0.0001")) as cb:
        llm.invoke("1")  # 0.000078
        llm.invoke("2")  # 0.000156: crosses the budget, still counted
        with pytest.raises(BudgetExceededError, match=r"spent 0.000156 USD of a 0.0001 USD budget"):
            llm.invoke("3")
    assert SENT == ["1", "2"]
    assert cb.total_cost == 2 * EXAMPLE


def test_inner_budget_refuses_without_the_outer_block_recording_a_start(
    mini: azcost.PricingTable,
) -> None:
    llm = example_llm()
    with get_cost_callback(mini) as outer:
        with get_cost_callback(mini, budget=Decimal(0)), pytest.raises(BudgetExceededError):
            llm.invoke("x")
        llm.invoke("y")
    assert outer.successful_requests == 1
    assert outer._runs == {}


def test_float_budget_is_refused(mini: azcost.PricingTable) -> None:
    with pytest.raises(TypeError, match="not a float"):
        get_cost_callback(mini, budget=0.5)  # type: ignore[arg-type]


def test_a_thousand_small_calls_sum_exactly(mini: azcost.PricingTable) -> None:
    llm = example_llm(input_tokens=1, output_tokens=0)
    with get_cost_callback(mini) as cb:
        llm.batch(["x"] * 1000)
    assert cb.total_cost == Decimal("0.002")


def test_handler_error_never_breaks_the_call(
    mini: azcost.PricingTable, monkeypatch: pytest.MonkeyPatch
) -> None:
    handler = CostCallbackHandler(mini)

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(handler.pricing, "cost", broken)
    with pytest.warns(UnpricedCallWarning, match="boom"):
        out = example_llm().invoke("x", config={"callbacks": [handler]})
    assert out.content
    assert handler.successful_requests == 1
    assert "boom" in handler.unpriced_requests[0].reason


def test_strict_mode_lets_handler_errors_propagate(
    mini: azcost.PricingTable, monkeypatch: pytest.MonkeyPatch
) -> None:
    handler = CostCallbackHandler(mini, strict=True)

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(handler.pricing, "cost", broken)
    with pytest.raises(RuntimeError, match="boom"):
        example_llm().invoke("x", config={"callbacks": [handler]})


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


class FakeLedger:
    """Duck-typed ledger: keeps records, counts flushes and closes."""

    def __init__(self, url: str | None = None) -> None:
        self.url = url
        self.records: list[azcost.CallRecord] = []
        self.flushed = 0
        self.closed = 0

    def record(self, rec: azcost.CallRecord) -> None:
        self.records.append(rec)

    def flush(self, timeout: float | None = None) -> None:
        self.flushed += 1

    def close(self) -> None:
        self.closed += 1


def test_ledger_receives_one_record_per_call_and_is_flushed(mini: azcost.PricingTable) -> None:
    ledger = FakeLedger()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnpricedCallWarning)
        with get_cost_callback(mini, ledger=ledger) as cb:
            example_llm().invoke("x", config={"tags": ["t1"], "metadata": {"user": "ann"}})
            example_llm(model_version="1106").invoke("y")
    assert (ledger.flushed, ledger.closed) == (1, 0)
    priced, unpriced = ledger.records
    assert priced.priced
    assert priced.total_cost == EXAMPLE == cb.total_cost
    assert priced.model == "gpt-35-turbo-0301"
    assert priced.input_cost + priced.output_cost == EXAMPLE  # type: ignore[operator]
    assert priced.tags == ("t1",)
    assert priced.metadata["user"] == "ann"
    assert priced.pricing_version == mini.version
    assert priced.price_effective_from is not None
    assert priced.deployment == "gpt-35-turbo"
    assert priced.match == "exact"
    assert not unpriced.priced
    assert unpriced.total_cost is None
    assert "gpt-35-turbo-1106" in (unpriced.unpriced_reason or "")
    assert {priced.run_id, unpriced.run_id} == {u.run_id for u in [*ledger.records]}


def test_ledger_url_is_opened_and_closed_by_the_block(
    mini: azcost.PricingTable, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[FakeLedger] = []

    def factory(url: str | None = None) -> FakeLedger:
        made.append(FakeLedger(url))
        return made[-1]

    fake_module = types.ModuleType("azcost.ledger._writer")
    fake_module.Ledger = factory  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "azcost.ledger._writer", fake_module)
    with get_cost_callback(mini, ledger="sqlite:///x.db"):
        example_llm().invoke("x")
    [ledger] = made
    assert ledger.url == "sqlite:///x.db"
    assert ledger.closed == 1
    assert len(ledger.records) == 1


def test_repr_and_summary_show_models_and_unpriced_calls(mini: azcost.PricingTable) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnpricedCallWarning)
        with get_cost_callback(mini) as cb:
            example_llm().invoke("x")
            example_llm(model_version="1106").invoke("x")
    text = repr(cb)
    assert "Total Cost (USD): $0.000078" in text
    assert "gpt-35-turbo-0301: 1 request(s)" in text
    assert "Unpriced Requests: 1" in text
    summary = cb.summary()
    assert "gpt-35-turbo-0301" in summary
    assert "0.000078" in summary
    assert "unpriced: 1 call(s)" in summary


def test_get_openai_callback_is_a_drop_in(mini: azcost.PricingTable) -> None:
    community = pytest.importorskip("langchain_community.callbacks.openai_info")
    with azcost.get_openai_callback() as cb:
        example_llm().invoke("x")
    for name, value in vars(community.OpenAICallbackHandler).items():
        if not name.startswith("_") and isinstance(value, (int, float)):
            assert hasattr(cb, name), name
    assert cb.total_cost == EXAMPLE


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
