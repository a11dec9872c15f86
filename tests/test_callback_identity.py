"""Which version a call is priced as: every name looked up in the deployments map, assumed
versions made visible, service tiers never priced at another tier's rates."""

from __future__ import annotations

import uuid
import warnings
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fakes import EXAMPLE, example_llm
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, LLMResult

import azcost
from azcost import (
    AssumedVersionError,
    AssumedVersionWarning,
    CostCallbackHandler,
    MatchKind,
    get_cost_callback,
)
from azcost.errors import UnpricedCallWarning

USAGE: Any = {"input_tokens": 31, "output_tokens": 8, "total_tokens": 39}
PROD_CHAT = {"prod-chat": {"model": "gpt-35-turbo", "model_version": "0301"}}


def _end(
    handler: CostCallbackHandler,
    *,
    kwargs: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
    meta: dict[str, Any] | None = None,
    usage: Any = USAGE,
    llm_output: dict[str, Any] | None = None,
) -> None:
    run_id = uuid.uuid4()
    serialized = {"lc": 1, "type": "constructor", "id": ["x"], "kwargs": kwargs or {}}
    handler.on_chat_model_start(serialized, [[]], run_id=run_id, metadata=metadata or {})
    message = AIMessage("ok", usage_metadata=usage, response_metadata=meta or {})
    result = LLMResult(generations=[[ChatGeneration(message=message)]], llm_output=llm_output)
    handler.on_llm_end(result, run_id=run_id)


@pytest.mark.parametrize(
    ("kwargs", "metadata", "meta"),
    [
        ({"deployment_name": "prod-chat"}, {}, {"model_name": "gpt-35-turbo"}),
        ({"azure_deployment": "prod-chat"}, {}, {"model_name": "gpt-35-turbo"}),
        (
            {"model_name": "prod-chat"},
            {"ls_model_name": "prod-chat"},
            {"model_name": "gpt-35-turbo"},
        ),
        ({"model": "prod-chat"}, {}, {"model_name": "gpt-35-turbo"}),
        ({}, {}, {"model_name": "prod-chat"}),
        ({}, {}, {"model": "prod-chat"}),
    ],
    ids=[
        "deployment_name",
        "azure_deployment",
        "model_name (init_chat_model)",
        "model (ChatOpenAI base_url .../openai/v1)",
        "response model_name",
        "response model (langchain-azure-ai)",
    ],
)
def test_the_deployments_map_is_consulted_for_every_name_a_call_carries(
    mini: azcost.PricingTable,
    kwargs: dict[str, Any],
    metadata: dict[str, Any],
    meta: dict[str, Any],
) -> None:
    handler = CostCallbackHandler(mini, deployments=PROD_CHAT)
    _end(handler, kwargs=kwargs, metadata=metadata, meta=meta)
    assert list(handler.by_model) == ["gpt-35-turbo-0301"]
    assert handler.total_cost == EXAMPLE
    [ident] = handler._identities.values()
    assert (ident.match, ident.deployment) == (MatchKind.DEPLOYMENT, "prod-chat")


def test_model_from_langchain_azure_ai_response_metadata_is_read(
    mini: azcost.PricingTable,
) -> None:
    handler = CostCallbackHandler(mini)
    _end(handler, meta={"model": "gpt-4o-2024-08-06"}, llm_output={"model": "gpt-4o-2024-08-06"})
    assert list(handler.by_model) == ["gpt-4o-2024-08-06"]
    assert handler.assumed_requests == 0


def test_an_assumed_version_warns_once_per_block_per_deployment(
    mini: azcost.PricingTable,
) -> None:
    llm = example_llm(model_version="")
    with warnings.catch_warnings(record=True) as caught, get_cost_callback(mini) as cb:
        warnings.simplefilter("always")
        llm.invoke("a")
        llm.invoke("b")
        example_llm(deployment_name="other", model_version="").invoke("c")
    assert {w.category for w in caught} == {AssumedVersionWarning}
    messages = [str(w.message) for w in caught]
    assert len(messages) == 2
    assert (
        "deployment 'gpt-35-turbo' names no model version: priced as gpt-35-turbo-0125"
        in (messages[0])
    )
    assert "in the deployments map (or with model_version= on AzureChatOpenAI)" in messages[0]
    assert cb.assumed_requests == 3
    assert cb.by_model["gpt-35-turbo-0125"].assumed_requests == 3


def test_a_deployments_entry_without_a_version_is_assumed_too(mini: azcost.PricingTable) -> None:
    handler = CostCallbackHandler(mini, deployments={"prod-chat": {"model": "gpt-35-turbo"}})
    with pytest.warns(AssumedVersionWarning, match="deployment 'prod-chat'"):
        _end(handler, kwargs={"deployment_name": "prod-chat"})
    [ident] = handler._identities.values()
    assert ident.match is MatchKind.BASE_DEFAULT
    assert handler.assumed_requests == 1


def test_on_assumed_raise_raises_after_counting(mini: azcost.PricingTable) -> None:
    with (
        get_cost_callback(mini, on_assumed="raise") as cb,
        pytest.raises(AssumedVersionError, match="gpt-35-turbo-0125"),
    ):
        example_llm(model_version="").invoke("x")
    assert cb.successful_requests == 1
    assert cb.total_cost > 0


def test_on_assumed_ignore_counts_without_a_word(mini: azcost.PricingTable) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with get_cost_callback(mini, on_assumed="ignore") as cb:
            example_llm(model_version="").invoke("x")
    assert cb.assumed_requests == 1


def test_on_assumed_must_be_one_of_three(mini: azcost.PricingTable) -> None:
    with pytest.raises(ValueError, match="on_assumed must be 'warn', 'raise' or 'ignore'"):
        CostCallbackHandler(mini, on_assumed="loud")  # type: ignore[arg-type]


@pytest.mark.parametrize("tier", ["priority", "flex"])
def test_a_tier_the_table_has_no_rate_for_is_unpriced_never_standard(
    mini: azcost.PricingTable, tier: str
) -> None:
    handler = CostCallbackHandler(mini)
    usage: Any = {
        "input_tokens": 1000,
        "output_tokens": 100,
        "total_tokens": 1100,
        "input_token_details": {f"{tier}_cache_read": 400, tier: 600},
        "output_token_details": {f"{tier}_reasoning": 0, tier: 100},
    }
    with pytest.warns(UnpricedCallWarning, match=f"no '{tier}' service-tier price"):
        _end(handler, meta={"model_name": "gpt-4o-2024-08-06", "service_tier": tier}, usage=usage)
    assert handler.total_cost == 0
    assert (handler.prompt_tokens, handler.prompt_tokens_cached) == (1000, 400)
    [unpriced] = handler.unpriced_requests
    assert unpriced.model == "gpt-4o-2024-08-06"


def test_the_default_tier_is_priced_at_the_tables_rates(mini: azcost.PricingTable) -> None:
    handler = CostCallbackHandler(mini)
    _end(handler, meta={"model_name": "gpt-35-turbo-0301", "service_tier": "default"})
    assert handler.total_cost == EXAMPLE


def test_empty_token_usage_is_unknown_usage_not_zero(mini: azcost.PricingTable) -> None:
    handler = CostCallbackHandler(mini)
    run_id = uuid.uuid4()
    handler.on_llm_start({"kwargs": {"model_version": "0301"}}, ["hi"], run_id=run_id)
    result = LLMResult.model_validate(
        {
            "generations": [[{"text": "ok"}]],
            "llm_output": {"token_usage": {}, "model_name": "gpt-35-turbo"},
        }
    )
    with pytest.warns(UnpricedCallWarning, match="legacy completions report none when streaming"):
        handler.on_llm_end(result, run_id=run_id)
    assert handler.by_model == {}
    [unpriced] = handler.unpriced_requests
    assert unpriced.usage_known is False
    assert "stream_usage" not in unpriced.reason  # a completion client has no such option
    assert handler.total_cost == Decimal(0)


def test_audio_and_image_details_are_priced_at_their_kinds_rates() -> None:
    table = azcost.load_pricing(Path(__file__).parent / "data" / "kinds.yaml")
    handler = CostCallbackHandler(table)
    usage: Any = {
        "input_tokens": 1_000_000,
        "output_tokens": 1_000_000,
        "total_tokens": 2_000_000,
        "input_token_details": {"cache_read": 100_000, "audio": 200_000, "image": 300_000},
        "output_token_details": {"audio": 400_000, "image": 500_000, "reasoning": 50_000},
    }
    _end(handler, meta={"model_name": "every-kind-1"}, usage=usage)
    # per 1M: 0.4 plain input x 1, 0.1 cached x 2, 0.2 audio in x 4, 0.3 image in x 7,
    # 0.1 plain output x 3, 0.4 audio out x 5, 0.5 image out x 9
    assert handler.total_cost == Decimal("0.4") + Decimal("0.2") + Decimal("0.8") + Decimal(
        "2.1"
    ) + Decimal("0.3") + Decimal("2.0") + Decimal("4.5")
    assert handler.by_model["every-kind-1"].audio_output_tokens == 400_000
    assert handler.reasoning_tokens == 50_000
