"""Embeddings over HTTP: every request of langchain-openai's client counted and priced."""

from __future__ import annotations

import asyncio
import math
import warnings
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

pytest.importorskip("langchain_openai")

import langchain_openai
from azure_server import AzureServer, DeploymentSpec
from langchain_core.vectorstores import InMemoryVectorStore

import azcost
from azcost import AssumedVersionWarning, BudgetExceededError, get_cost_callback
from azcost.embeddings import AzureOpenAIEmbeddings
from azcost.testing import FakeAzureEmbeddings

RATE = Decimal("0.02") / 1_000_000  # text-embedding-3-small-1, global, per token (mini.yaml)
TEXTS = [f"chunk {i} of the indexed corpus" for i in range(100)]  # 6 words = 6 tokens each


@pytest.fixture(scope="module")
def server() -> Iterator[AzureServer]:
    srv = AzureServer(
        {
            "embed-small": DeploymentSpec("text-embedding-3-small"),
            "prod-embed": DeploymentSpec("text-embedding-3-small"),
        }
    ).start()
    yield srv
    srv.stop()


def _settings(server: AzureServer, deployment: str) -> dict[str, Any]:
    return {
        "azure_deployment": deployment,
        "api_version": "2024-10-21",
        "api_key": "test",
        "azure_endpoint": server.endpoint,
        "max_retries": 0,
        "check_embedding_ctx_length": False,  # tiktoken would download its encoding
        "chunk_size": 16,
    }


def embeddings(server: AzureServer, deployment: str = "embed-small", **kw: Any) -> Any:
    kw.setdefault("model_version", "1")
    return AzureOpenAIEmbeddings(**_settings(server, deployment), **kw)


def test_an_indexing_run_of_100_chunks_is_priced_exactly(
    server: AzureServer, mini: azcost.PricingTable
) -> None:
    with get_cost_callback(mini) as cb:
        store = InMemoryVectorStore.from_texts(TEXTS, embeddings(server))
    assert len(store.store) == 100
    assert cb.successful_requests == math.ceil(100 / 16)  # one request per chunk_size texts
    assert cb.prompt_tokens == 600
    assert cb.total_cost == 600 * RATE == Decimal("0.000012")
    assert list(cb.by_model) == ["text-embedding-3-small-1"]
    assert cb.by_model["text-embedding-3-small-1"].requests == 7


def test_faiss_from_texts_is_priced_exactly(server: AzureServer, mini: azcost.PricingTable) -> None:
    pytest.importorskip("faiss")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # langchain-community's sunset notice
        from langchain_community.vectorstores import FAISS

    with get_cost_callback(mini) as cb:
        FAISS.from_texts(TEXTS, embeddings(server))
    assert cb.total_cost == Decimal("0.000012")


def test_async_embeddings_are_counted(server: AzureServer, mini: azcost.PricingTable) -> None:
    async def main() -> azcost.CostCallbackHandler:
        async with get_cost_callback(mini) as cb:
            emb = embeddings(server)
            await emb.aembed_documents(TEXTS[:20])
            await emb.aembed_query("one two three")
        return cb

    cb = asyncio.run(main())
    assert cb.successful_requests == 3  # 16 + 4 texts, then the query
    assert cb.total_cost == (120 + 3) * RATE


def test_the_stock_class_is_counted_once_tracked(
    server: AzureServer, mini: azcost.PricingTable
) -> None:
    stock = langchain_openai.AzureOpenAIEmbeddings(**_settings(server, "embed-small"))
    with get_cost_callback(mini, on_assumed="ignore") as before:
        stock.embed_query("not counted")
    assert before.successful_requests == 0  # LangChain's embeddings fire no callbacks
    azcost.track(stock)
    azcost.track(stock)  # twice: still one count per request
    with get_cost_callback(mini, on_assumed="ignore") as cb:
        stock.embed_query("one two three four")
    assert (cb.successful_requests, cb.total_cost) == (1, 4 * RATE)


def test_the_deployments_map_names_an_embeddings_deployment(
    server: AzureServer, mini: azcost.PricingTable
) -> None:
    deployments = {"prod-embed": {"model": "text-embedding-3-small", "model_version": "1"}}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with get_cost_callback(mini, deployments=deployments) as cb:
            embeddings(server, "prod-embed", model_version=None).embed_query("a b")
    assert cb.total_cost == 2 * RATE
    assert cb.assumed_requests == 0


def test_an_unpinned_embeddings_version_is_assumed_and_said(
    server: AzureServer, mini: azcost.PricingTable
) -> None:
    emb = embeddings(server, model_version=None)
    with (
        pytest.warns(AssumedVersionWarning, match="text-embedding-3-small-1"),
        get_cost_callback(mini) as cb,
    ):
        emb.embed_query("a b")
    assert cb.assumed_requests == 1


def test_get_openai_callback_counts_embeddings(server: AzureServer) -> None:
    with azcost.get_openai_callback() as cb:
        embeddings(server).embed_documents(TEXTS[:3])
    assert cb.successful_requests == 1
    assert cb.prompt_tokens == 18
    assert cb.total_cost > 0


def test_an_embeddings_request_over_budget_is_never_sent(
    server: AzureServer, mini: azcost.PricingTable
) -> None:
    emb = embeddings(server)
    sent = len(server.requests)
    with (
        get_cost_callback(mini, budget=Decimal("0.0000001")) as cb,
        pytest.raises(BudgetExceededError),
    ):
        emb.embed_documents(TEXTS)  # the first request crosses the budget
    assert len(server.requests) == sent + 1
    assert cb.successful_requests == 1


def test_embeddings_outside_a_block_are_not_counted_and_work(server: AzureServer) -> None:
    assert len(embeddings(server).embed_query("a b c")) == 3


def test_fake_azure_embeddings_are_counted_like_the_real_client(
    mini: azcost.PricingTable,
) -> None:
    fake = FakeAzureEmbeddings(
        deployment="embed-small", model="text-embedding-3-small", model_version="1", chunk_size=16
    )
    with get_cost_callback(mini) as cb:
        store = InMemoryVectorStore.from_texts(TEXTS, fake)
    assert len(store.store) == 100
    assert (cb.successful_requests, cb.total_cost) == (7, Decimal("0.000012"))
