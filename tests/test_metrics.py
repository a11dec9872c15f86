"""Live spend metrics: what the SDK's in-memory reader collects is exactly what the handler
counted, over HTTP with the real clients (chat, streams, async, legacy completions,
embeddings), priced, unpriced and assumed calls alike."""

from __future__ import annotations

import asyncio
import warnings
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("langchain_openai")
pytest.importorskip("opentelemetry.sdk.metrics")

from azure_server import AzureServer
from call_modes import MODES, stream
from langchain_core.outputs import Generation, LLMResult
from langchain_openai import AzureOpenAI
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from otel_helpers import (
    DEPLOYMENTS,
    MESSAGES,
    SI_PLACES,
    assert_matches,
    chat,
    collect,
    cost,
    provider,
    reader,
    requests,
    server,
    tokens,
)

import azcost
from azcost import CostCallbackHandler, get_cost_callback
from azcost.embeddings import AzureOpenAIEmbeddings
from azcost.ledger import Ledger

__all__ = ["provider", "reader", "server"]  # fixtures used by name


@pytest.mark.parametrize("mode", list(MODES))
def test_chat_metrics_equal_the_handlers_totals(
    server: AzureServer,
    mini: azcost.PricingTable,
    provider: MeterProvider,
    reader: InMemoryMetricReader,
    mode: str,
) -> None:
    with get_cost_callback(mini, deployments=DEPLOYMENTS, metrics=provider) as cb:
        for deployment in ("prod-chat", "prod-4o", "reasoner", "prod-chat"):
            MODES[mode](chat(server, deployment))
    points, units = collect(reader)
    assert_matches(points, units, cb)
    assert cb.successful_requests == 4
    assert not cb.unpriced_requests
    assert cb.prompt_tokens_cached == 400
    assert cb.reasoning_tokens == 200
    assert units["gen_ai.client.token.usage"] == "{token}"
    assert requests(points, **{"gen_ai.response.model": "gpt-35-turbo-0301"}) == 2
    expected = [
        mini.cost("gpt-35-turbo-0301", input_tokens=31, output_tokens=8).total * 2,
        mini.cost(
            "gpt-4o-2024-08-06", input_tokens=1000, output_tokens=100, cached_input_tokens=400
        ).total,
        mini.cost("o1-2024-12-17", input_tokens=50, output_tokens=300, reasoning_tokens=200).total,
    ]
    assert cost(points, units) == sum(expected) == Decimal("0.021906")
    [(four_o, _)] = [p for p in points["azcost.cost"] if "gpt-4o" in p[0]["gen_ai.response.model"]]
    assert four_o == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "azure.ai.openai",
        "gen_ai.request.model": "prod-4o",
        "gen_ai.response.model": "gpt-4o-2024-08-06",
        "azcost.deployment": "prod-4o",
        "azcost.deployment_type": "global",
        "azcost.priced": True,
        "azcost.version_assumed": False,
    }


def test_the_token_histogram_carries_the_genai_attributes_only(
    server: AzureServer,
    mini: azcost.PricingTable,
    provider: MeterProvider,
    reader: InMemoryMetricReader,
) -> None:
    with get_cost_callback(mini, deployments=DEPLOYMENTS, metrics=provider):
        chat(server, "prod-4o").invoke(MESSAGES)
    points, _ = collect(reader)
    assert sorted(a["gen_ai.token.type"] for a, _ in points["gen_ai.client.token.usage"]) == [
        "input",
        "output",
    ]
    for attrs, _ in points["gen_ai.client.token.usage"]:
        assert set(attrs) == {
            "gen_ai.operation.name",
            "gen_ai.provider.name",
            "gen_ai.request.model",
            "gen_ai.response.model",
            "gen_ai.token.type",
        }
    assert tokens(points, "input") == 1000  # the 400 cached tokens inside, as the handler
    assert tokens(points, "output") == 100


def test_the_cost_sub_unit_is_the_coarsest_that_prices_every_rate_to_a_whole_number() -> None:
    table = azcost.load_pricing()
    reader = InMemoryMetricReader()
    handler = CostCallbackHandler(table, metrics=MeterProvider(metric_readers=[reader]))
    usage = {"prompt_tokens": 1, "completion_tokens": 1}
    result = LLMResult(
        generations=[[Generation(text="x")]],
        llm_output={"token_usage": usage, "model_name": "gpt-4o-2024-08-06"},
    )
    handler.on_llm_end(result)  # a priced call: the cost counter and its unit exist
    assert handler.total_cost > 0
    _, units = collect(reader)
    places = SI_PLACES[units["azcost.cost"][: -len(table.currency)]]
    rates = [
        r
        for info in table.models.values()
        for series in info.prices
        for period in series.periods
        for rates in (period.rates, *(tier for _, tier in period.tiers))
        for r in rates
        if r is not None
    ]
    per_token = [r.scaleb(-6) for r in rates]
    assert all(r.scaleb(places) % 1 == 0 for r in per_token)
    assert not all(r.scaleb(places - 3) % 1 == 0 for r in per_token)


def test_unpriced_calls_count_their_tokens_and_requests_but_no_cost(
    server: AzureServer,
    mini: azcost.PricingTable,
    provider: MeterProvider,
    reader: InMemoryMetricReader,
) -> None:
    with (
        warnings.catch_warnings(),
        get_cost_callback(mini, deployments=DEPLOYMENTS, metrics=provider) as cb,
    ):
        warnings.simplefilter("ignore", azcost.UnpricedCallWarning)
        chat(server, "mystery").invoke(MESSAGES)
        chat(server, "prod-chat").invoke(MESSAGES)
    points, units = collect(reader)
    assert_matches(points, units, cb)
    assert len(cb.unpriced_requests) == 1
    unknown = {"azcost.priced": False, "azcost.unpriced_reason": "unknown_model"}
    assert requests(points, **unknown) == 1
    assert tokens(points, "input", **{"gen_ai.response.model": "mystery-model"}) == 11
    assert all(a["azcost.priced"] for a, _ in points["azcost.cost"])
    assert cost(points, units) == cb.total_cost == Decimal("0.000078")


def test_a_call_without_usage_is_a_request_without_tokens(
    server: AzureServer,
    mini: azcost.PricingTable,
    provider: MeterProvider,
    reader: InMemoryMetricReader,
) -> None:
    llm = chat(server, "prod-chat")
    llm.stream_usage = False
    with (
        pytest.warns(azcost.UnpricedCallWarning),
        get_cost_callback(mini, deployments=DEPLOYMENTS, metrics=provider) as cb,
    ):
        stream(llm)
    points, _ = collect(reader)
    assert cb.successful_requests == 1
    assert cb.prompt_tokens == 0
    assert requests(points, **{"azcost.unpriced_reason": "no_usage"}) == 1
    assert "gen_ai.client.token.usage" not in points
    assert "azcost.cost" not in points


def test_an_assumed_version_is_priced_and_marked(
    server: AzureServer,
    mini: azcost.PricingTable,
    provider: MeterProvider,
    reader: InMemoryMetricReader,
) -> None:
    with get_cost_callback(mini, on_assumed="ignore", metrics=provider) as cb:
        chat(server, "bare").invoke(MESSAGES)
        chat(server, "bare").invoke(MESSAGES)
    points, units = collect(reader)
    assert_matches(points, units, cb)
    assert cb.assumed_requests == 2
    [(attrs, _)] = points["azcost.cost"]
    assert attrs["azcost.version_assumed"] is True
    assert attrs["gen_ai.response.model"] == "gpt-35-turbo-0125"


def test_a_legacy_completion_is_a_text_completion(
    server: AzureServer,
    provider: MeterProvider,
    reader: InMemoryMetricReader,
) -> None:
    llm = AzureOpenAI(
        azure_deployment="instruct",
        api_version="2024-10-21",
        api_key="test",
        azure_endpoint=server.endpoint,
        max_retries=0,
    )
    with get_cost_callback(on_assumed="ignore", metrics=provider) as cb:  # the shipped table
        llm.invoke("Hello")
        llm.batch(["a", "b"])
    points, units = collect(reader)
    assert_matches(points, units, cb)
    assert cb.total_cost > 0
    assert requests(points, **{"azcost.version_assumed": True}) == 3
    assert {a["gen_ai.operation.name"] for a, _ in points["gen_ai.client.token.usage"]} == {
        "text_completion"
    }


def embeddings_settings(server: AzureServer) -> dict[str, Any]:
    """The embeddings client's settings against the test server."""
    return {
        "azure_deployment": "embed",
        "api_version": "2024-10-21",
        "api_key": "test",
        "azure_endpoint": server.endpoint,
        "max_retries": 0,
        "check_embedding_ctx_length": False,  # tiktoken would download its encoding
        "chunk_size": 16,
    }


def test_embeddings_requests_count_input_tokens_and_cost(
    server: AzureServer,
    mini: azcost.PricingTable,
    provider: MeterProvider,
    reader: InMemoryMetricReader,
) -> None:
    emb = AzureOpenAIEmbeddings(model_version="1", **embeddings_settings(server))
    texts = [f"chunk {i} of the indexed corpus" for i in range(40)]
    with get_cost_callback(mini, metrics=provider) as cb:
        emb.embed_documents(texts)
        asyncio.run(emb.aembed_documents(texts[:10]))
    points, units = collect(reader)
    assert_matches(points, units, cb)
    assert cb.successful_requests == 4
    assert cb.prompt_tokens == 300
    assert {a["gen_ai.token.type"] for a, _ in points["gen_ai.client.token.usage"]} == {"input"}
    assert {a["gen_ai.operation.name"] for a, _ in points["azcost.requests"]} == {"embeddings"}
    assert cost(points, units) == Decimal("0.000006")


def test_only_the_listed_metadata_keys_become_attributes(
    server: AzureServer,
    mini: azcost.PricingTable,
    provider: MeterProvider,
    reader: InMemoryMetricReader,
) -> None:
    llm = chat(server, "prod-chat")
    with get_cost_callback(
        mini, deployments=DEPLOYMENTS, metrics=provider, metrics_attributes=["user", "feature"]
    ) as cb:
        for user in ("ana", "ben", "ana"):
            meta = {"user": user, "session": f"s-{user}", "feature": "search"}
            llm.invoke(MESSAGES, config={"metadata": meta})
        llm.invoke(MESSAGES)  # no metadata: the keys are left out
    points, units = collect(reader)
    assert_matches(points, units, cb)
    seen = {k for name in points for a, _ in points[name] for k in a}
    assert "session" not in seen
    assert "ls_provider" not in seen
    assert requests(points, user="ana") == 2
    assert requests(points, user="ben", feature="search") == 1
    assert tokens(points, "input", user="ana") == 62
    by_user = {a.get("user"): v for a, v in points["azcost.cost"]}
    assert by_user["ana"] == 2 * by_user["ben"]
    assert by_user["ben"] == by_user[None]


@pytest.mark.parametrize("mode", ["invoke", "stream", "ainvoke"])
def test_a_call_in_nested_blocks_recording_to_one_provider_is_recorded_once(
    server: AzureServer,
    mini: azcost.PricingTable,
    provider: MeterProvider,
    reader: InMemoryMetricReader,
    mode: str,
) -> None:
    # each block counts the inner call in its own totals; the provider must get it once
    with get_cost_callback(mini, deployments=DEPLOYMENTS, metrics=provider) as outer:
        with get_cost_callback(mini, deployments=DEPLOYMENTS, metrics=provider) as inner:
            MODES[mode](chat(server, "prod-chat"))
        MODES[mode](chat(server, "prod-4o"))
    points, units = collect(reader)
    assert (inner.successful_requests, outer.successful_requests) == (1, 2)
    assert_matches(points, units, outer)


def test_nested_blocks_recording_to_two_providers_each_get_their_calls_once(
    server: AzureServer,
    mini: azcost.PricingTable,
    provider: MeterProvider,
    reader: InMemoryMetricReader,
) -> None:
    inner_reader = InMemoryMetricReader()
    inner_provider = MeterProvider(metric_readers=[inner_reader])
    try:
        with get_cost_callback(mini, deployments=DEPLOYMENTS, metrics=provider) as outer:
            with get_cost_callback(mini, deployments=DEPLOYMENTS, metrics=inner_provider) as inner:
                chat(server, "prod-chat").invoke(MESSAGES)
            chat(server, "prod-4o").invoke(MESSAGES)
        assert_matches(*collect(reader), outer)
        assert_matches(*collect(inner_reader), inner)
    finally:
        inner_provider.shutdown()


def test_embeddings_in_nested_blocks_are_recorded_once_as_metrics_and_in_the_ledger(
    server: AzureServer,
    mini: azcost.PricingTable,
    provider: MeterProvider,
    reader: InMemoryMetricReader,
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    emb = AzureOpenAIEmbeddings(model_version="1", **embeddings_settings(server))
    with (
        get_cost_callback(mini, metrics=provider, ledger=url) as outer,
        get_cost_callback(mini, metrics=provider, ledger=url) as inner,
    ):
        emb.embed_documents(["one chunk", "another chunk"])
    assert inner.successful_requests == outer.successful_requests == 1
    assert_matches(*collect(reader), outer)
    with Ledger(url, create=False) as ledger:
        assert ledger.stats()["records"] == 1
