"""The cost callback on FakeAzureChatModel: every mode, usage, identity, ledger hand-off, repr."""

from __future__ import annotations

import asyncio
import sys
import types
import uuid
import warnings
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fakes import EXAMPLE, example_llm
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, Generation, LLMResult
from langchain_core.prompts import ChatPromptTemplate

import azcost
from azcost import CostCallbackHandler, MatchKind, get_cost_callback
from azcost.errors import DeploymentsFileError, UnpricedCallWarning
from azcost.testing import FakeAzureChatModel


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


def test_a_thousand_small_calls_sum_exactly(mini: azcost.PricingTable) -> None:
    llm = example_llm(input_tokens=1, output_tokens=0)
    with get_cost_callback(mini) as cb:
        llm.batch(["x"] * 1000)
    assert cb.total_cost == Decimal("0.002")


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


def test_get_openai_callback_is_a_drop_in(mini: azcost.PricingTable) -> None:
    community = pytest.importorskip("langchain_community.callbacks.openai_info")
    with azcost.get_openai_callback() as cb:
        example_llm().invoke("x")
    for name, value in vars(community.OpenAICallbackHandler).items():
        if not name.startswith("_") and isinstance(value, (int, float)):
            assert hasattr(cb, name), name
    assert cb.total_cost == EXAMPLE
